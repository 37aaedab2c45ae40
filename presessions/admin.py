from django.contrib import admin
from django.db.models import Count
from django.utils import translation
from django.utils.html import format_html_join
from django.utils.translation import gettext_lazy as _

from .countries import find_countries
from .models import Call, CouncilSession, Cycle, PrivacyNotice, Session, StateReview, Theme


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


@admin.register(CouncilSession)
class CouncilSessionAdmin(admin.ModelAdmin):
    """One row a year: the Pre-session week of an April/May Working Group moves before these dates."""

    list_display = ["number", "start_date", "end_date"]
    search_fields = ["=number", "sources"]
    date_hierarchy = "start_date"


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
    list_display = ["label", "label_fr", "label_es", "slug", "active"]
    list_filter = ["active"]
    search_fields = ["label", "label_fr", "label_es", "slug", "source_label"]
    list_editable = ["active"]
    prepopulated_fields = {"slug": ["label"]}


@admin.register(PrivacyNotice)
class PrivacyNoticeAdmin(admin.ModelAdmin):
    """
    Staff publish a new version of the privacy notice; a published version is never edited, since
    each application records the version its applicant agreed to. The form starts from the current text.
    """

    list_display = ["version", "published_at", "changes"]
    fields = ["changes", "text", "text_fr", "text_es"]

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def get_changeform_initial_data(self, request):
        from .privacy_views import built_in_text

        current = PrivacyNotice.objects.current()
        if current is not None:
            return {"text": current.text, "text_fr": current.text_fr, "text_es": current.text_es}
        initial = {}
        for language, name in (("en", "text"), ("fr", "text_fr"), ("es", "text_es")):
            with translation.override(language):
                initial[name] = built_in_text().strip()
        return initial
