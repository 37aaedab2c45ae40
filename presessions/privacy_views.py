"""The privacy notice: the one staff published last in the admin, or the one built into the product."""

from __future__ import annotations

from django.conf import settings
from django.shortcuts import get_object_or_404, redirect, render
from django.template.loader import render_to_string
from django.utils.translation import ngettext
from django.views.decorators.http import require_safe

from .caching import public_page
from .models import PrivacyNotice


def human_period(days: int) -> str:
    """A retention period as people say it: "1 year", "3 months", "30 days"."""
    if days >= 365 and days % 365 == 0:
        years = days // 365
        return ngettext("%(count)d year", "%(count)d years", years) % {"count": years}
    if days >= 60 and days % 30 == 0:
        months = days // 30
        return ngettext("%(count)d month", "%(count)d months", months) % {"count": months}
    return ngettext("%(count)d day", "%(count)d days", days) % {"count": days}


def built_in_text() -> str:
    """The product's own notice, in the active language, with this site's periods and address."""
    context = {kind: human_period(int(days)) for kind, days in settings.RETENTION.items()}
    return render_to_string("presessions/privacy_notice.txt", {**context, "contact_email": settings.CONTACT_EMAIL})


def blocks(text: str) -> list[dict]:
    """
    Plain text as headings, paragraphs and lists: a line starting with "## " is a heading, one
    starting with "- " a list item, and a blank line ends a paragraph. Nothing else is markup, so
    what staff type is always shown as text.
    """
    result: list[dict] = []
    paragraph: list[str] = []

    def end_paragraph():
        if paragraph:
            result.append({"kind": "p", "text": " ".join(paragraph)})
            paragraph.clear()

    for raw in text.replace("\r\n", "\n").split("\n"):
        line = raw.strip()
        if not line:
            end_paragraph()
        elif line.startswith("## "):
            end_paragraph()
            result.append({"kind": "h2", "text": line[3:].strip()})
        elif line.startswith("- "):
            end_paragraph()
            if not result or result[-1]["kind"] != "ul":
                result.append({"kind": "ul", "items": []})
            result[-1]["items"].append(line[2:].strip())
        else:
            paragraph.append(line)
    end_paragraph()
    return result


def _context(notice: PrivacyNotice | None) -> dict:
    return {
        "blocks": blocks(notice.localized_text() if notice else built_in_text()),
        "version": notice.version if notice else PrivacyNotice.BUILT_IN_VERSION,
        "published_at": notice.published_at if notice else None,
        "changes": notice.changes if notice else "",
    }


@require_safe
@public_page
def privacy(request):
    """The notice in force, and links to the earlier versions applicants may have agreed to."""
    notice = PrivacyNotice.objects.current()
    context = _context(notice)
    context["earlier"] = []
    if notice is not None:
        context["earlier"] = [
            *PrivacyNotice.objects.filter(version__lt=notice.version).order_by("-version"),
            {"version": PrivacyNotice.BUILT_IN_VERSION},
        ]
    return render(request, "presessions/privacy.html", context)


@require_safe
@public_page
def privacy_version(request, version: int):
    """
    One earlier version, as it was published (an applicant's consent records its number). Version 1
    is the notice built into the product, shown with this site's current periods and address.
    """
    current = PrivacyNotice.objects.current()
    if current is None or version == current.version:
        return redirect("presessions:privacy")
    if version == PrivacyNotice.BUILT_IN_VERSION:
        notice = None
    else:
        notice = get_object_or_404(PrivacyNotice, version=version)
    context = {**_context(notice), "earlier_version": True}
    return render(request, "presessions/privacy.html", context)
