from django.contrib import admin
from django.urls import reverse
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from .models import Application, CallAlert, Organisation


class ApplicationInline(admin.TabularInline):
    model = Application
    fields = ["review", "status", "submitted_at"]
    readonly_fields = fields
    extra = 0
    can_delete = False
    show_change_link = True

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(Organisation)
class OrganisationAdmin(admin.ModelAdmin):
    list_display = ["name", "acronym", "kind", "scope", "country", "is_coalition", "email", "created_at"]
    list_filter = ["kind", "scope", "is_coalition", "ecosoc_status", "nhri_status", "cso_form"]
    search_fields = ["name", "acronym", "email", "website"]
    inlines = [ApplicationInline]


@admin.register(Application)
class ApplicationAdmin(admin.ModelAdmin):
    list_display = [
        "organisation",
        "state",
        "session_number",
        "status",
        "speaker_gender",
        "report_submitted",
        "language",
        "submitted_at",
    ]
    list_filter = [
        "status",
        "review__session",
        "speaker_gender",
        "report_submitted",
        "organisation__kind",
        "organisation__scope",
        "themes",
    ]
    search_fields = ["organisation__name", "organisation__acronym", "email", "speaker_name", "statement_summary"]
    list_select_related = ["organisation", "review__session"]
    autocomplete_fields = ["organisation"]
    filter_horizontal = ["themes"]
    readonly_fields = ["created_at", "updated_at", "submitted_at", "withdrawn_at", "language", "report_download"]
    exclude = ["report_file"]
    date_hierarchy = "created_at"

    @admin.display(description=_("State under Review"), ordering="review__country")
    def state(self, obj):
        return obj.review.name

    @admin.display(description=_("session"), ordering="review__session__number")
    def session_number(self, obj):
        return obj.review.session.number

    @admin.display(description=_("report (PDF)"))
    def report_download(self, obj):
        if not obj.report_file:
            return "–"
        return format_html('<a href="{}">{}</a>', reverse("applications:report_file", args=[obj.pk]), _("Download the report"))


@admin.register(CallAlert)
class CallAlertAdmin(admin.ModelAdmin):
    list_display = ["email", "country", "language", "created_at", "confirmed_at", "unsubscribed_at"]
    list_filter = [
        "country",
        "language",
        ("confirmed_at", admin.EmptyFieldListFilter),
        ("unsubscribed_at", admin.EmptyFieldListFilter),
    ]
    search_fields = ["email"]
