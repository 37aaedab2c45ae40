from django.contrib import admin, messages
from django.db.models import Count
from django.template.response import TemplateResponse
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext_lazy as _

from .countries import find_countries
from .emails import approve_drafts, render_override, requeue, sample_context, send_approved
from .enums import EmailStatus
from .models import Call, Cycle, Email, EmailTemplate, Session, StateReview, Theme


class CountryNameSearchMixin:
    """Let staff search by country name ("Kenya"), not only by ISO code."""

    country_lookup = "country__in"

    def get_search_results(self, request, queryset, search_term):
        results, may_have_duplicates = super().get_search_results(request, queryset, search_term)
        codes = find_countries(search_term) if search_term.strip() else []
        if codes:
            results |= queryset.filter(**{self.country_lookup: codes})
            may_have_duplicates = True
        return results, may_have_duplicates


@admin.register(Cycle)
class CycleAdmin(admin.ModelAdmin):
    list_display = ["number", "period"]
    search_fields = ["period", "notes"]


class StateReviewInline(admin.TabularInline):
    model = StateReview
    fk_name = "session"
    extra = 0
    fields = ["order", "country", "status", "rescheduled_to", "meeting_date", "meeting_start", "meeting_room", "meeting_not_held"]
    autocomplete_fields = ["rescheduled_to"]


class CallInline(admin.StackedInline):
    model = Call
    extra = 0
    max_num = 1


@admin.register(Session)
class SessionAdmin(CountryNameSearchMixin, admin.ModelAdmin):
    country_lookup = "reviews__country__in"
    list_display = [
        "number",
        "cycle",
        "start_date",
        "end_date",
        "expected_month",
        "calendar_status",
        "presession_format",
        "state_count",
    ]
    list_filter = ["cycle", "calendar_status", "presession_format", "order_is_official"]
    search_fields = ["=number", "notes", "reviews__country"]
    date_hierarchy = "start_date"
    inlines = [CallInline, StateReviewInline]
    readonly_fields = ["computed_timeline"]
    fieldsets = [
        (
            None,
            {
                "fields": [
                    "number",
                    "cycle",
                    "start_date",
                    "end_date",
                    "expected_month",
                    "calendar_status",
                    "order_is_official",
                    "presession_format",
                ]
            },
        ),
        (
            _("Engagement timeline"),
            {
                "description": _("Leave a date empty to use the rule. The call's dates are set on the call itself."),
                "fields": [
                    "computed_timeline",
                    "stakeholder_deadline",
                    "national_report_deadline",
                    "presessions_start",
                    "presessions_end",
                    "results_from",
                    "results_by",
                ],
            },
        ),
        (_("Notes and sources"), {"fields": ["notes", "sources"], "classes": ["collapse"]}),
    ]

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("cycle").annotate(num_states=Count("reviews"))

    @admin.display(description=_("States"), ordering="num_states")
    def state_count(self, obj):
        return obj.num_states

    @admin.display(description=_("Timeline in force"))
    def computed_timeline(self, obj):
        if not obj.pk or obj.timeline is None:
            return _("Set the first day to compute the timeline.")
        steps = obj.timeline_steps()
        lines = [
            f"{s.label}: {s.start:%d %b %Y}"
            + (f" – {s.end:%d %b %Y}" if s.end else "")
            + (f" ({_('estimated')})" if s.estimated else "")
            for s in steps
        ]
        problems = obj.timeline.problems()
        if problems:
            lines.append(_("Check the order of these dates: %(problems)s") % {"problems": "; ".join(problems)})
        return format_html_join("", "<div>{}</div>", ((line,) for line in lines))


@admin.register(StateReview)
class StateReviewAdmin(CountryNameSearchMixin, admin.ModelAdmin):
    list_display = [
        "country_name",
        "session",
        "order",
        "status",
        "meeting_date",
        "meeting_start",
        "meeting_room",
        "meeting_not_held",
    ]
    list_filter = ["session__cycle", "session", "status", "meeting_not_held"]
    search_fields = ["country", "status_note", "meeting_room"]
    list_select_related = ["session"]
    autocomplete_fields = ["session", "rescheduled_to"]

    @admin.display(description=_("State under Review"), ordering="country")
    def country_name(self, obj):
        return obj.name


@admin.register(Call)
class CallAdmin(admin.ModelAdmin):
    list_display = ["session", "opens_at", "closes_at", "state_display"]
    list_filter = ["session__cycle"]
    search_fields = ["=session__number", "introduction"]
    list_select_related = ["session"]
    autocomplete_fields = ["session"]

    @admin.display(description=_("State"))
    def state_display(self, obj):
        return obj.state().label


@admin.register(Theme)
class ThemeAdmin(admin.ModelAdmin):
    list_display = ["label", "slug", "active"]
    list_filter = ["active"]
    search_fields = ["label", "slug", "source_label"]
    list_editable = ["active"]
    prepopulated_fields = {"slug": ["label"]}


@admin.register(Email)
class EmailAdmin(admin.ModelAdmin):
    list_display = ["created_at", "kind", "to", "subject", "language", "status", "attempts", "sent_at"]
    list_filter = ["status", "kind", "language", ("created_at", admin.DateFieldListFilter)]
    search_fields = ["to", "subject", "dedupe_key"]
    date_hierarchy = "created_at"
    actions = ["approve", "send", "resend"]
    readonly_fields = [f.name for f in Email._meta.fields if f.name not in ("id",)]
    exclude = ["content_type", "object_id"]

    def has_add_permission(self, request):
        return False

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
            # A confirmation step: how many messages will go out, and to whom.
            context = {
                **self.admin_site.each_context(request),
                "title": _("Send these emails?"),
                "emails": approved,
                "count": approved.count(),
                "selected": request.POST.getlist(admin.helpers.ACTION_CHECKBOX_NAME),
                "opts": self.model._meta,
            }
            return TemplateResponse(request, "admin/presessions/email/confirm_send.html", context)
        count = send_approved(approved)
        self.message_user(request, _("%(count)d email(s) handed to the mail queue.") % {"count": count}, messages.SUCCESS)
        return None

    @admin.action(description=_("Send the selected emails again"), permissions=["change"])
    def resend(self, request, queryset):
        count = 0
        for email in queryset:
            requeue(email)
            count += 1
        self.message_user(request, _("%(count)d email(s) queued again.") % {"count": count}, messages.SUCCESS)


@admin.register(EmailTemplate)
class EmailTemplateAdmin(admin.ModelAdmin):
    list_display = ["name", "language", "subject", "active", "updated_at"]
    list_filter = ["name", "language", "active"]
    search_fields = ["name", "subject", "body"]
    readonly_fields = ["placeholders", "preview"]
    fields = ["name", "language", "active", "subject", "body", "placeholders", "preview"]

    @admin.display(description=_("placeholders"))
    def placeholders(self, obj):
        return '{{ organisation.name }}, {{ review.name }}, {{ session.number }}, {{ link }}, {{ member.confirmation_deadline|date:"j F Y, H:i" }}, {{ application.speaker_name }}, {{ contact_email }}'

    @admin.display(description=_("preview (with example values)"))
    def preview(self, obj):
        if not obj or not obj.pk:
            return _("Save to see a preview.")
        try:
            subject, text, _html = render_override(obj, sample_context())
        except Exception as error:  # noqa: BLE001 -- a broken template shows its error here instead of failing later
            return format_html("<strong>{}</strong> {}", _("This template has an error:"), error)
        return format_html('<p><strong>{}</strong></p><pre style="white-space: pre-wrap">{}</pre>', subject, text)
