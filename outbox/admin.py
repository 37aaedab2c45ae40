"""The outbox in the admin: what left, what waits for approval, what failed; and the staff-edited email templates."""

from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.db.models.constants import LOOKUP_SEP
from django.template.response import TemplateResponse
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext_lazy as _

from . import kinds
from .delivery import RESENDABLE, approve_drafts, requeue, send_approved
from .enums import EmailStatus
from .masking import mask_private_links
from .models import Email, EmailTemplate
from .sandbox import FILTERS, render_override


class TroubleFilter(admin.SimpleListFilter):
    title = _("needs a look")
    parameter_name = "trouble"

    def lookups(self, request, model_admin):
        return [("failed", _("Failed for good")), ("retried", _("Sent again after a worker stopped"))]

    def queryset(self, request, queryset):
        if self.value() == "failed":
            return queryset.filter(status=EmailStatus.FAILED)
        if self.value() == "retried":
            return queryset.filter(lease_expiries__gt=0)
        return queryset


@admin.register(Email)
class EmailAdmin(admin.ModelAdmin):
    """
    The outbox. An email's subject, bodies, headers and error are shown through
    mask_private_links, never as stored: they hold applicants' private links, and whoever has
    one can act as the applicant.
    """

    list_display = ["created_at", "kind", "to", "masked_subject", "language", "status", "attempts", "sent_at"]
    list_filter = [TroubleFilter, "status", "kind", "language", ("created_at", admin.DateFieldListFilter)]
    # dedupe_key holds only a kind, row ids, an hour or a recipient's address: no secret.
    search_fields = ["to", "subject", "dedupe_key"]
    date_hierarchy = "created_at"
    actions = ["approve", "send", "resend"]
    fields = readonly_fields = [
        "to",
        "kind",
        "masked_subject",
        "language",
        "status",
        "attempts",
        "lease_expiries",
        "rendered",
        "next_attempt_at",
        "created_at",
        "sent_at",
        "dedupe_key",
        "masked_last_error",
        "masked_body_text",
        "masked_body_html",
        "masked_headers",
    ]
    # URL filters allowed on the list: those of list_filter and date_hierarchy. Any other, such as
    # ?body_text__contains=…, would let staff guess a private link one character at a time.
    # batch: the emails of one action, e.g. ?batch=panel-12 for the decisions of one panel.
    filterable = {"trouble", "status", "kind", "language", "created_at", "batch"}

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        # The outbox is a record: a decision's email is how its applicant is told (a deleted one
        # would make a told speaker untold), and every row says what left and when.
        return False

    def lookup_allowed(self, lookup, value, request):
        return lookup.split(LOOKUP_SEP)[0] in self.filterable and super().lookup_allowed(lookup, value, request)

    @admin.display(description=Email._meta.get_field("subject").verbose_name, ordering="subject")
    def masked_subject(self, obj):
        if not obj.rendered:
            return _("(written just before it is sent)")
        return mask_private_links(obj.subject)

    @admin.display(description=Email._meta.get_field("body_text").verbose_name)
    def masked_body_text(self, obj):
        return mask_private_links(obj.body_text)

    @admin.display(description=Email._meta.get_field("body_html").verbose_name)
    def masked_body_html(self, obj):
        return mask_private_links(obj.body_html)  # shown as source: escaped, never rendered

    @admin.display(description=Email._meta.get_field("headers").verbose_name)
    def masked_headers(self, obj):
        return mask_private_links("\n".join(f"{name}: {value}" for name, value in obj.headers.items()))

    @admin.display(description=Email._meta.get_field("last_error").verbose_name)
    def masked_last_error(self, obj):
        return mask_private_links(obj.last_error)

    @admin.action(description=_("Approve the selected drafts"), permissions=["change"])
    def approve(self, request, queryset):
        count = approve_drafts(queryset)
        self.message_user(
            request, _("%(count)d draft(s) approved. Nothing is sent until you send them.") % {"count": count}, messages.SUCCESS
        )

    @admin.action(description=_("Send the selected approved emails"), permissions=["change"])
    def send(self, request, queryset):
        approved = queryset.filter(status=EmailStatus.APPROVED).order_by("kind", "to")
        if request.POST.get("confirm") != "yes":
            return self._confirm(request, approved, action="send", title=_("Send these emails?"), button=_("Yes, send them"))
        count = send_approved(approved)
        self.message_user(request, _("%(count)d email(s) handed to the mail queue.") % {"count": count}, messages.SUCCESS)
        return None

    @admin.action(description=_("Send the selected emails again"), permissions=["change"])
    def resend(self, request, queryset):
        # A decision a later one replaced is never sent again: the applicant would read the old decision last.
        resendable = queryset.filter(status__in=RESENDABLE).exclude(pk__in=Email.objects.superseded()).order_by("kind", "to")
        skipped = queryset.count() - resendable.count()
        if skipped:
            self.message_user(
                request,
                _(
                    "%(count)d email(s) skipped: only sent or failed emails can be sent again, and never a decision "
                    "that a later one replaced. A draft is approved, then sent with “Send the selected approved "
                    "emails”; a queued email leaves on its own."
                )
                % {"count": skipped},
                messages.WARNING,
            )
        if not resendable.exists():
            return None
        if request.POST.get("confirm") != "yes":
            return self._confirm(
                request, resendable, action="resend", title=_("Send these emails again?"), button=_("Yes, send them again")
            )
        seen = {}
        for item in request.POST.getlist("seen"):
            email_id, _sep, attempts = item.partition(":")
            if email_id.isdigit() and attempts.isdigit():
                seen[int(email_id)] = int(attempts)
        count = requeue(resendable, seen=seen)
        self.message_user(request, _("%(count)d email(s) queued again.") % {"count": count}, messages.SUCCESS)
        return None

    def _confirm(self, request, emails, *, action, title, button):
        """A confirmation step: how many messages will go out, and to whom. Confirming covers exactly the emails listed."""
        rows = [
            {"pk": e.pk, "to": e.to, "subject": mask_private_links(e.subject), "language": e.language, "attempts": e.attempts}
            for e in emails
        ]
        context = {
            **self.admin_site.each_context(request),
            "title": title,
            "emails": rows,
            "count": len(rows),
            "action": action,
            "button": button,
            "opts": self.model._meta,
        }
        return TemplateResponse(request, "admin/outbox/email/confirm_send.html", context)


@admin.register(EmailTemplate)
class EmailTemplateAdmin(admin.ModelAdmin):
    list_display = ["name", "language", "subject", "active", "updated_at"]
    list_filter = ["name", "language", "active"]
    search_fields = ["name", "subject", "body"]
    readonly_fields = ["placeholders", "preview"]
    fields = ["name", "language", "active", "subject", "body", "placeholders", "preview"]

    @admin.display(description=_("placeholders"))
    def placeholders(self, obj):
        """The sandbox's own lists (outbox.kinds, outbox.sandbox): what this help says is what saving allows."""
        return format_html(
            "<p>{}</p><p>{} {}</p><p>{}</p>",
            format_html_join(", ", "<code>{}</code>", ((f"{{{{ {name} }}}}",) for name in kinds.placeholders())),
            _("Filters:"),
            format_html_join(", ", "<code>{}</code>", ((name,) for name in FILTERS)),
            format_html(
                "{} <code>{}</code>",
                _("For example:"),
                '{{ member.confirmation_deadline|date:"DATETIME_FORMAT" }}',
            ),
        )

    @admin.display(description=_("preview (with example values)"))
    def preview(self, obj):
        if not obj or not obj.pk:
            return _("Save to see a preview.")
        try:
            subject, text, _html = render_override(obj, kinds.sample_context())
        except ValidationError as error:
            return format_html(
                "<strong>{}</strong> {}",
                _("This template has an error:"),
                format_html_join(" ", "<span>{}</span>", ((m,) for m in error.messages)),
            )
        except Exception as error:  # noqa: BLE001 -- a broken template shows its error here instead of failing later
            return format_html("<strong>{}</strong> {}", _("This template has an error:"), error)
        return format_html('<p><strong>{}</strong></p><pre style="white-space: pre-wrap">{}</pre>', subject, text)
