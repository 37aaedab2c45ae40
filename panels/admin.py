from django.contrib import admin
from django.urls import reverse
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from applications.admin import CoordinatorOnlyMixin

from .models import (
    Panel,
    PanelMember,
    PanelRules,
    ScheduleDay,
    ScheduleRelease,
    ScheduleSubscription,
    TrainingDay,
    VisaLetterText,
)


@admin.register(PanelRules)
class PanelRulesAdmin(CoordinatorOnlyMixin, admin.ModelAdmin):
    list_display = ["session", "speaker_minutes", "fixed", "max_speakers", "slots", "theme_weight", "require_nhri_or_coalition"]
    list_select_related = ["session"]

    @admin.display(description=_("fixed parts (minutes)"))
    def fixed(self, obj):
        return obj.fixed_minutes

    @admin.display(description=_("speaker slots"))
    def slots(self, obj):
        return obj.slots


@admin.register(TrainingDay)
class TrainingDayAdmin(CoordinatorOnlyMixin, admin.ModelAdmin):
    list_display = ["session", "date", "start", "end", "place", "invited_at", "roster"]
    list_select_related = ["session"]

    @admin.display(description=_("roster"))
    def roster(self, obj):
        return format_html(
            '<a href="{}">{}</a>', reverse("panels:training", args=[obj.session.number]), _("Roster and attendance")
        )


@admin.register(VisaLetterText)
class VisaLetterTextAdmin(CoordinatorOnlyMixin, admin.ModelAdmin):
    list_display = ["language"]


def statement_link(member):
    if not member.statement_file:
        return "–"
    return format_html('<a href="{}">{}</a>', reverse("panels:statement_file", args=[member.pk]), _("Download the statement"))


class MemberInline(admin.TabularInline):
    model = PanelMember
    extra = 0
    fields = [
        "role",
        "position",
        "application",
        "confirmed_at",
        "declined_at",
        "attends_training",
        "statement_download",
        "statement_public",
    ]
    # Who speaks, in which order, and what they answered change only through the panel page and the
    # speaker's own link (panels.domain), which keep decisions, emails and public pages in step.
    readonly_fields = ["role", "position", "application", "confirmed_at", "declined_at", "statement_download"]
    can_delete = False

    def statement_download(self, obj):
        return statement_link(obj)

    statement_download.short_description = _("written statement")

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(Panel)
class PanelAdmin(CoordinatorOnlyMixin, admin.ModelAdmin):
    """
    A read-only record of each panel. It is composed, changed, finalised and reopened on its own page
    ("panel page"), through panels.domain: never here, where a status or a lock would change without
    the decisions and emails that must follow.
    """

    list_display = ["review", "status", "women", "men", "other_genders", "parity_ok", "themes_covered", "open_page"]
    list_filter = ["status", "parity_ok", "review__session"]
    list_select_related = ["review__session"]
    search_fields = ["review__country"]
    inlines = [MemberInline]
    readonly_fields = [
        "review",
        "status",
        "open_page",
        "locked",
        "excluded",
        "composed_at",
        "finalised_at",
        "finalised_by",
        "early_reason",
        "objective",
        "women",
        "men",
        "other_genders",
        "parity_ok",
        "nhri_or_coalition_ok",
        "themes_covered",
        "proposed_replacement",
        "replaces",
    ]
    fields = readonly_fields

    def has_add_permission(self, request):
        return False  # panels are composed on the session's panels page

    def has_delete_permission(self, request, obj=None):
        return False  # decisions and emails hang on it: reopen it on its page instead

    @admin.display(description=_("panel page"))
    def open_page(self, obj):
        return format_html('<a href="{}">{}</a>', reverse("panels:panel", args=[obj.review_id]), _("Open"))


class StatementFilter(admin.SimpleListFilter):
    title = _("written statement")
    parameter_name = "statement"

    def lookups(self, request, model_admin):
        return [("missing", _("Missing")), ("received", _("Received"))]

    def queryset(self, request, queryset):
        if self.value() == "missing":
            return queryset.filter(statement_file="", role="speaker", declined_at__isnull=True)
        if self.value() == "received":
            return queryset.exclude(statement_file="")
        return queryset


@admin.register(PanelMember)
class PanelMemberAdmin(CoordinatorOnlyMixin, admin.ModelAdmin):
    list_display = [
        "application",
        "panel",
        "role",
        "position",
        "confirmed_at",
        "declined_at",
        "attends_training",
        "statement_language",
        "statement_public",
    ]
    list_filter = [StatementFilter, "role", "panel__review__session", ("confirmed_at", admin.EmptyFieldListFilter)]
    list_select_related = ["application__organisation", "application__review", "panel__review__session"]
    list_editable = ["statement_public"]
    search_fields = ["application__organisation__name"]
    readonly_fields = [
        "panel",
        "application",
        "role",
        "position",
        "explanation",
        "confirmation_deadline",
        "confirmed_at",
        "declined_at",
        "decline_reason",
        "statement_download",
    ]
    # The statement is downloaded through the application (a link to the file's storage would be a
    # bucket's address); the speaker sends it, or a new one, through their own link.
    exclude = ["statement_file", "statement_key"]

    @admin.display(description=_("written statement"))
    def statement_download(self, obj):
        return statement_link(obj)

    def has_add_permission(self, request):
        return False  # members come from composing a panel

    def has_delete_permission(self, request, obj=None):
        return False  # rule a speaker out on the panel page instead


@admin.register(ScheduleDay)
class ScheduleDayAdmin(CoordinatorOnlyMixin, admin.ModelAdmin):
    list_display = ["session", "date", "start", "end", "room"]
    list_editable = ["start", "end", "room"]
    list_filter = ["session"]


@admin.register(ScheduleRelease)
class ScheduleReleaseAdmin(CoordinatorOnlyMixin, admin.ModelAdmin):
    list_display = ["session", "number", "name", "published_at"]
    list_filter = ["session"]
    readonly_fields = ["session", "number", "name", "published_at", "payload", "changes", "etag"]

    def has_change_permission(self, request, obj=None):
        return False  # a published release never changes

    def has_add_permission(self, request):
        return False  # releases are made by "Publish" on the schedule page


@admin.register(ScheduleSubscription)
class ScheduleSubscriptionAdmin(CoordinatorOnlyMixin, admin.ModelAdmin):
    list_display = ["email", "session", "language", "confirmed_at", "unsubscribed_at"]
    list_filter = ["session", ("confirmed_at", admin.EmptyFieldListFilter)]
    search_fields = ["email"]
