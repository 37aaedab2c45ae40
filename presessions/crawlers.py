"""
What search engines and auditors read: robots.txt, the sitemap, and the accessibility statement.

- `robots_txt`: keeps crawlers off every private route. The list is read from the URL conf
  (`private_routes`), so a route added later with a private link's `<str:token>`, under staff/,
  or in the admin or staff sign-in namespaces, is covered without editing anything here.
- `PublicSitemap` and its subclasses: the public pages for django.contrib.sitemaps. A page's
  address is the same in every language (the language comes from a cookie), so each language's
  version is the page with `?lang=<code>` (config.middleware.QueryLanguageMiddleware), and every
  version names the others with hreflang. The same alternates go in each public page's <head>.
- `accessibility`: the accessibility statement.
"""

import datetime as dt
import re
from collections.abc import Iterator

from django.conf import settings
from django.contrib.sitemaps import Sitemap
from django.http import HttpResponse
from django.shortcuts import render
from django.urls import URLPattern, URLResolver, get_resolver, reverse
from django.views.decorators.http import require_safe

from outbox.links import absolute_url, site_url

from .caching import public_page
from .models import Session, StateReview

# Namespaces whose every route is for staff: the admin, and the two-step staff sign-in.
STAFF_NAMESPACES = {"admin", "two_factor"}
STAFF_PREFIX = "staff/"
TOKEN = "<str:token>"
# Public routes that are no use in a search engine's results: the checks a monitor polls, the
# language switch (a form's target), the oversized-request page, the call alerts (a form whose
# result is an email), and a speaker's written statement, which its speaker may withdraw while
# a search engine would keep showing it.
NOT_FOR_CRAWLERS = {
    "healthz",
    "readyz",
    "readyz_web",
    "switch_language",
    "request_too_large",
    "applications:alert_subscribe",
    "applications:alert_sent",
    "panels:statement",
}
# The pages of the sitemap that take no argument.
PAGES = [
    "presessions:home",
    "presessions:calendar",
    "presessions:faq",
    "presessions:about",
    "presessions:privacy",
    "presessions:accessibility",
    "panels:record_public",
]
ACCESSIBILITY_STATEMENT_PREPARED = dt.date(2026, 12, 2)


# ------------------------------------------------------------------------------- robots.txt


def routes(patterns=None, prefix: str = "", namespace: str = "") -> Iterator[tuple[str, str]]:
    """Every route of the URL conf as (name, route), e.g. ("applications:detail", "applications/<str:token>/")."""
    for pattern in get_resolver().url_patterns if patterns is None else patterns:
        route = str(pattern.pattern).replace("^", "").replace("$", "")  # an included regex is anchored
        if isinstance(pattern, URLResolver):
            inner = ":".join(part for part in (namespace, pattern.namespace) if part)
            yield from routes(pattern.url_patterns, prefix + route, inner)
        elif isinstance(pattern, URLPattern):
            yield ":".join(part for part in (namespace, pattern.name or "") if part), prefix + route


def is_private(name: str, route: str) -> bool:
    """Whether a route is kept from crawlers: a private link, a staff page, or a route no search needs."""
    route = route.lstrip("^")
    return TOKEN in route or route.startswith(STAFF_PREFIX) or name.split(":")[0] in STAFF_NAMESPACES or name in NOT_FOR_CRAWLERS


def _rule(route: str) -> str:
    """A Disallow rule for one private route that shares its first segment with public ones: "/sessions/*/notes/"."""
    return "/" + re.sub(r"<[^>]+>|\(\?P<\w+>.*?\)", "*", route)  # Google and Bing read * as "anything"


def disallowed() -> list[str]:
    """
    The Disallow rules: the whole first segment of each private route ("/applications/") when no
    public route starts with it, else the route itself, each of its arguments a wildcard.
    """
    found = list(routes())
    public = {route.split("/")[0] for name, route in found if not is_private(name, route)}
    rules = set()
    for name, route in found:
        if is_private(name, route):
            segment, slash, _rest = route.partition("/")
            rules.add(f"/{segment}{slash}" if segment and segment not in public else _rule(route))
    kept = []
    for rule in sorted(rules):  # "/readyz" covers "/readyz/"
        if not any(rule.startswith(shorter) for shorter in kept if "*" not in shorter):
            kept.append(rule)
    return kept


@require_safe
def robots_txt(request):
    lines = ["User-agent: *", *(f"Disallow: {rule}" for rule in disallowed()), ""]
    lines.append(f"Sitemap: {absolute_url(reverse('sitemap'))}")
    return HttpResponse("\n".join(lines) + "\n", content_type="text/plain; charset=utf-8")


# ------------------------------------------------------------------------ languages, sitemap


def language_versions(path: str) -> list[dict]:
    """
    The absolute address of the page at `path` in each language, and "x-default" (the page
    itself, in the visitor's own language), as the sitemap's template wants alternates. A query
    string (a search in the calendar) is left out: the page itself stands for all of them.
    """
    versions = [{"lang_code": code, "location": absolute_url(f"{path}?lang={code}")} for code, _name in settings.LANGUAGES]
    return [*versions, {"lang_code": "x-default", "location": absolute_url(path)}]


class PublicSitemap(Sitemap):
    """
    Public pages, each listed once per language (`?lang=<code>`) with every language's version as
    an alternate, at the site's public address (outbox.links.site_url) whatever host was asked.

    Django's own `i18n` and `alternates` options assume i18n_patterns (a prefix per language).
    Subclasses give `items()` as a list (one query at most) and `location(item)` as a path.
    """

    limit = 10_000  # three addresses an item, under the 50,000 a sitemap may hold

    def get_urls(self, page=1, site=None, protocol=None):
        urls = []
        for item in self.paginator.page(page).object_list:
            alternates = language_versions(self.location(item))
            lastmod = self._get("lastmod", item)
            for version in alternates[:-1]:
                urls.append({"item": item, "location": version["location"], "lastmod": lastmod, "alternates": alternates})
        return urls


class PageSitemap(PublicSitemap):
    """The pages that take no argument: home, calendar, FAQ, about, privacy, accessibility."""

    def items(self):
        return PAGES

    def location(self, item):
        return reverse(item)


class SessionPageSitemap(PublicSitemap):
    """
    One page per session, named by `viewname` (which takes the session's number), for the
    sessions of `sessions` (default: all). Annotate `lastmod` on the queryset if it is known.
    """

    def __init__(self, viewname: str, sessions=None):
        self.viewname, self.sessions = viewname, sessions

    def items(self):
        sessions = Session.objects.all() if self.sessions is None else self.sessions.all()
        fields = ["number", "lastmod"] if "lastmod" in sessions.query.annotations else ["number"]
        return list(sessions.order_by("number").values(*fields))

    def location(self, item):
        return reverse(self.viewname, args=[item["number"]])

    def lastmod(self, item):
        return item.get("lastmod")


class CountrySitemap(PublicSitemap):
    """The page of each State that has a review."""

    def items(self):
        return list(StateReview.objects.order_by("country").values_list("country", flat=True).distinct())

    def location(self, item):
        return reverse("presessions:country", args=[str(item).lower()])


# ----------------------------------------------------------------------- accessibility statement


@require_safe
@public_page
def accessibility(request):
    """The accessibility statement (on the model of the UK public sector's)."""
    context = {"prepared": ACCESSIBILITY_STATEMENT_PREPARED, "site_url": site_url()}
    return render(request, "presessions/accessibility.html", context)
