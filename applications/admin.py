"""
The staff side of applications, in the Django admin.

Access is decided in applications.assessment: a coordinator sees everything, a
assessor only the eligible applications on their States. The admin applies
it in get_queryset and in every permission check, so search, filters,
exports and direct URLs leak nothing.

Least privilege for personal data: an assessor sees what scoring needs, and no
more. The speaker's gender, phone number, email and accessibility needs
(SENSITIVE_FIELDS) are for coordinators only, in every column, filter, search,
sort order, form and page of the admin. The panel composer still reads the
gender, for parity, outside the admin. The speaker's email is hidden with the
phone: an assessor never contacts a speaker, and the organisation's own email
stays visible, as the organisation's public contact.
"""

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.models import ADDITION, LogEntry
from django.contrib.auth import get_user_model
from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import Count, F, Prefetch
from django.http import HttpResponseRedirect
from django.shortcuts import render
from django.urls import path, reverse
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext, ngettext
from django.utils.translation import gettext_lazy as _
from import_export import fields, resources
from import_export.admin import ExportMixin
from import_export.forms import SelectableFieldsExportForm
from simple_history.admin import SimpleHistoryAdmin

from presessions.models import Call, StateReview, Theme

from . import assessment as assessment_rules
from . import identity
from .enums import ApplicationStatus, Screening, WorkingLanguage
from .forms import AssessmentForm
from .identity import REASONS
from .models import Application, Assessment, AssessorAssignment, CallAlert, Criterion, Organisation, ReviewerProfile

SKIPPED_SESSION_KEY = "assessment-skipped"

# Personal data that scoring does not need: shown to coordinators only (see the module docstring).
SENSITIVE_FIELDS = ("speaker_gender", "speaker_phone", "speaker_email", "accessibility_needs")


def is_sensitive(path: str) -> bool:
    """Whether a field path or lookup (`speaker_phone__contains`, `application__speaker_gender`) reads a sensitive field."""
    return any(part in SENSITIVE_FIELDS for part in path.lstrip("^=@").split("__"))


class CoordinatorOnlyMixin:
    """Models only coordinators manage (rubrics, assignments, alerts)."""

    def _ok(self, request):
        return assessment_rules.is_coordinator(request.user)

    def has_module_permission(self, request):
        return self._ok(request)

    def has_view_permission(self, request, obj=None):
        return self._ok(request)

    def has_add_permission(self, request, *args):
        return self._ok(request)

    def has_change_permission(self, request, obj=None):
        return self._ok(request)

    def has_delete_permission(self, request, obj=None):
        return self._ok(request)


class AuditHistoryMixin:
    """
    The audit history (django-simple-history) is for coordinators, and it is read-only.

    django-simple-history's own views check only the *view* permission, fall back to the
    historical record for an object the user's queryset hides, and save a posted "revert" form.
    Here nobody but a coordinator opens them, and nobody can post to them: a revert would write
    status fields past the functions that change them.
    """

    def has_view_history_or_change_history_permission(self, request, obj=None):
        return assessment_rules.is_coordinator(request.user)

    def has_view_history_permission(self, request, obj=None):
        return assessment_rules.is_coordinator(request.user)

    def has_change_history_permission(self, request, obj=None):
        return False

    def history_view(self, request, object_id, extra_context=None):
        if not assessment_rules.is_coordinator(request.user):
            raise PermissionDenied
        return super().history_view(request, object_id, extra_context)

    def history_form_view(self, request, object_id, version_id, extra_context=None):
        if request.method != "GET" or not assessment_rules.is_coordinator(request.user):
            raise PermissionDenied
        return super().history_form_view(request, object_id, version_id, extra_context)


class ScopedLookupsMixin:
    """
    An assessor may filter the list only through the filters on the page.

    Django's admin accepts a query-string lookup on any of the model's own fields
    (`?score_mean__gte=7`), and on relations when they appear in a filter: enough to bisect a
    score or find another State's applications. An assessor's lookups must be one of the list
    filters' own parameters, and never one on a sensitive field (`?speaker_gender__exact=woman`):
    Django answers a refused lookup with a 400, whatever its value, so the answer tells nothing.
    """

    def lookup_allowed(self, lookup, value, request=None):
        if request is None or assessment_rules.is_coordinator(request.user):
            return super().lookup_allowed(lookup, value, request)
        if is_sensitive(lookup):
            return False
        filters = self.get_list_filter(request)
        paths = [f for f in filters if isinstance(f, str)]
        names = {f.parameter_name for f in filters if isinstance(f, type) and issubclass(f, admin.SimpleListFilter)}
        suffixes = ("exact", "id__exact", "isnull", "pk__exact")
        allowed = lookup in names or any(lookup == f"{path}__{suffix}" for path in paths for suffix in suffixes)
        return allowed and super().lookup_allowed(lookup, value, request)


# ---------------------------------------------------------------- filters


class StateFilter(admin.SimpleListFilter):
    title = _("State under Review")
    parameter_name = "state"

    def lookups(self, request, model_admin):
        reviews = StateReview.objects.select_related("session").order_by("-session__number", "order")
        if not assessment_rules.is_coordinator(request.user):
            reviews = reviews.filter(assignments__assessor=request.user)
        session = request.GET.get("review__session__id__exact")
        if session:
            reviews = reviews.filter(session_id=session)
        return [(r.pk, f"{r.name} ({r.session.number})") for r in reviews[:300]]

    def queryset(self, request, queryset):
        return queryset.filter(review_id=self.value()) if self.value() else queryset


class AssessedByMeFilter(admin.SimpleListFilter):
    title = _("my assessment")
    parameter_name = "mine"

    def lookups(self, request, model_admin):
        return [("todo", _("Not yet assessed by me")), ("done", _("Assessed by me"))]

    def queryset(self, request, queryset):
        if self.value() == "todo":
            return queryset.filter(assessed_by_me=False, conflict_for_me=False)
        if self.value() == "done":
            return queryset.filter(assessed_by_me=True)
        return queryset


class ConflictFilter(admin.SimpleListFilter):
    title = _("conflicts of interest")
    parameter_name = "conflict"

    def lookups(self, request, model_admin):
        return [("yes", _("With a declared conflict"))]

    def queryset(self, request, queryset):
        if self.value() == "yes":
            if assessment_rules.is_coordinator(request.user):
                return queryset.filter(assessments__conflict_of_interest=True).distinct()
            return queryset.filter(conflict_for_me=True)
        return queryset


class CoalitionFilter(admin.SimpleListFilter):
    title = _("coalition")
    parameter_name = "coalition"

    def lookups(self, request, model_admin):
        return [("yes", _("Coalition or network")), ("no", _("Single organisation"))]

    def queryset(self, request, queryset):
        if self.value() in ("yes", "no"):
            return queryset.filter(organisation__is_coalition=self.value() == "yes")
        return queryset


# ---------------------------------------------------------------- export


class ApplicationResource(resources.ModelResource):
    """
    The applications as a spreadsheet, for coordinators.

    The sensitive columns come only with `include_sensitive`, which the export form sets when the
    coordinator ticks its box: ticking their own checkboxes, or posting them, is not enough.
    """

    sensitive_fields = ("speaker_gender", "speaker_phone", "accessibility_needs")

    session = fields.Field(attribute="review__session__number", column_name="session")
    state = fields.Field(column_name="state")
    organisation = fields.Field(attribute="organisation__name", column_name="organisation")
    kind = fields.Field(attribute="organisation__kind", column_name="kind")
    scope = fields.Field(attribute="organisation__scope", column_name="scope")
    coalition = fields.Field(attribute="organisation__is_coalition", column_name="coalition")
    themes = fields.Field(column_name="themes")

    class Meta:
        model = Application
        fields = [
            "id",
            "session",
            "state",
            "organisation",
            "kind",
            "scope",
            "coalition",
            "report_submitted",
            "themes",
            "speaker_gender",
            "speaker_phone",
            "accessibility_needs",
            "status",
            "screening",
            "score_mean",
            "score_count",
            "score_spread",
            "submitted_at",
        ]
        export_order = fields

    def __init__(self, *, include_sensitive=False, **kwargs):
        super().__init__(**kwargs)
        self.include_sensitive = include_sensitive

    def get_export_fields(self, selected_fields=None):
        export_fields = super().get_export_fields(selected_fields)
        if self.include_sensitive:
            return export_fields
        return [field for field in export_fields if field.attribute not in self.sensitive_fields]

    def export_field(self, field, instance, **kwargs):
        # django-import-export strips one leading "=" only: "==HYPERLINK(...)", "+", "-" and "@" survive.
        value = super().export_field(field, instance, **kwargs)
        if isinstance(value, str) and value.startswith(("=", "+", "-", "@", "\t", "\r")):
            return "'" + value  # shown as text by every spreadsheet (OWASP's advice on CSV injection)
        return value

    def dehydrate_state(self, application):
        return application.review.name

    def dehydrate_themes(self, application):
        return "; ".join(theme.label for theme in application.themes.all())


class ApplicationExportForm(SelectableFieldsExportForm):
    """
    import-export's form with a checkbox per column, less the sensitive columns: one box, unticked
    by default and left alone by "Select all", adds them all.
    """

    include_sensitive = forms.BooleanField(
        label=_("Include sensitive fields (gender, phone, accessibility needs)"),
        required=False,
        initial=False,
        help_text=_("Every export is recorded in the audit history, with whether it included them."),
    )

    def __init__(self, formats, resources, **kwargs):
        super().__init__(formats, resources, **kwargs)
        for resource in resources:
            hidden = {self.create_boolean_field_name(resource, name) for name in getattr(resource, "sensitive_fields", ())}
            self.resource_fields[resource.__name__] = [f for f in self.resource_fields[resource.__name__] if f not in hidden]
            for name in hidden:
                self.fields.pop(name, None)

    def get_selected_resource_export_fields(self):
        selected = super().get_selected_resource_export_fields()
        if self.cleaned_data.get("include_sensitive"):
            selected += getattr(self.get_selected_resource(), "sensitive_fields", ())
        return selected


# ---------------------------------------------------------------- applications


@admin.register(Application)
class ApplicationAdmin(AuditHistoryMixin, ScopedLookupsMixin, ExportMixin, SimpleHistoryAdmin):
    """
    Applications, for coordinators and assessors.

    An assessor sees no SENSITIVE_FIELDS: no column, filter, search, sort order or form field for
    them, and the assessment page leaves the gender out. Exports are for coordinators, carry the
    sensitive columns only when asked, and are each recorded as an admin LogEntry.
    """

    resource_classes = [ApplicationResource]
    export_form_class = ApplicationExportForm
    list_display = [
        "organisation_name",
        "kind_and_scope",
        "state",
        "session_number",
        "theme_list",
        "speaker_gender",
        "criteria_badges",
        "score",
        "score_count",
        "spread",
        "my_score",
        "status",
        "screening",
        "assess_link",
    ]
    list_filter = [
        "review__session",
        StateFilter,
        "organisation__kind",
        "organisation__scope",
        "report_submitted",
        CoalitionFilter,
        "speaker_gender",
        "themes",
        "status",
        "screening",
        AssessedByMeFilter,
        ConflictFilter,
    ]
    search_fields = ["organisation__name", "organisation__acronym", "speaker_name", "statement_summary"]
    list_per_page = 50
    ordering = [F("score_mean").desc(nulls_last=True), "score_count", "pk"]
    autocomplete_fields = ["organisation"]
    filter_horizontal = ["themes"]
    readonly_fields = [
        # The status changes only through the rules that change it (the form, panels, decisions).
        "status",
        "created_at",
        "updated_at",
        "submitted_at",
        "withdrawn_at",
        "language",
        "report_download",
        "score_mean",
        "score_count",
        "score_spread",
        "organisation_history",
    ]
    exclude = ["report_file"]
    actions = ["mark_eligible"]

    # Access -------------------------------------------------------------

    def get_queryset(self, request):
        queryset = assessment_rules.visible_applications(request.user)
        queryset = assessment_rules.with_my_assessment(queryset, request.user)
        return queryset.select_related("organisation", "review__session").prefetch_related(
            Prefetch("themes", queryset=Theme.objects.only("pk", "label"))
        )

    def has_view_permission(self, request, obj=None):
        if not super().has_view_permission(request, obj):
            return False
        return obj is None or assessment_rules.visible_applications(request.user).filter(pk=obj.pk).exists()

    def has_change_permission(self, request, obj=None):
        return assessment_rules.is_coordinator(request.user) and super().has_change_permission(request, obj)

    def has_delete_permission(self, request, obj=None):
        return assessment_rules.is_coordinator(request.user) and super().has_delete_permission(request, obj)

    def has_add_permission(self, request):
        return False  # applications come through the public form

    def has_export_permission(self, request):
        return assessment_rules.is_coordinator(request.user)

    # Export -------------------------------------------------------------

    def export_includes_sensitive(self, request, export_form) -> bool:
        """Whether a coordinator ticked "Include sensitive fields" on the export form."""
        ticked = export_form is not None and getattr(export_form, "cleaned_data", {}).get("include_sensitive", False)
        return bool(ticked) and assessment_rules.is_coordinator(request.user)

    def get_export_resource_kwargs(self, request, **kwargs):
        return {
            **super().get_export_resource_kwargs(request, **kwargs),
            "include_sensitive": self.export_includes_sensitive(request, kwargs.get("export_form")),
        }

    def get_export_data(self, file_format, request, queryset, **kwargs):
        data = super().get_export_data(file_format, request, queryset, **kwargs)
        self.log_export(request, queryset, file_format, **kwargs)
        return data

    def log_export(self, request, queryset, file_format, *, export_form=None, **kwargs):
        """Record the export in the audit history: who, how many rows, which format and columns, and whether sensitive."""
        sensitive = self.export_includes_sensitive(request, export_form)
        count = queryset.count()
        columns = export_form.get_selected_resource_export_fields() if export_form is not None else []
        fmt = file_format.get_title().upper()
        message = ngettext(
            "Exported %(count)d application as %(format)s; columns: %(columns)s.",
            "Exported %(count)d applications as %(format)s; columns: %(columns)s.",
            count,
        ) % {"count": count, "format": fmt, "columns": ", ".join(columns) or "–"}
        if sensitive:
            message += " " + gettext("Sensitive fields (gender, phone, accessibility needs) included.")
        else:
            message += " " + gettext("Without sensitive fields.")
        LogEntry.objects.create(
            user_id=request.user.pk,
            content_type=ContentType.objects.get_for_model(self.model),
            object_id=None,
            object_repr=(
                gettext("Export of %(count)d application(s), %(format)s, with sensitive fields")
                if sensitive
                else gettext("Export of %(count)d application(s), %(format)s")
            )
            % {"count": count, "format": fmt},
            action_flag=ADDITION,
            change_message=message,
        )

    # Assessments stay independent: an assessor sees no other assessor's mark, and no mean, spread,
    # count or rank derived from them, on any page, column, sort order or filter. They see their own total.
    SCORE_COLUMNS = ("score", "score_count", "spread")
    SCORE_FIELDS = ("score_mean", "score_count", "score_spread")

    def get_list_display(self, request):
        columns = list(super().get_list_display(request))
        if assessment_rules.is_coordinator(request.user):
            columns.remove("my_score")
        else:
            columns = [c for c in columns if c not in (*self.SCORE_COLUMNS, "screening", *SENSITIVE_FIELDS)]
        return columns

    def get_list_filter(self, request):
        filters = list(super().get_list_filter(request))
        if assessment_rules.is_coordinator(request.user):
            return filters
        return [f for f in filters if not (isinstance(f, str) and is_sensitive(f))]

    def get_search_fields(self, request):
        search_fields = list(super().get_search_fields(request))
        if assessment_rules.is_coordinator(request.user):
            return search_fields
        return [f for f in search_fields if not is_sensitive(f)]

    def get_ordering(self, request):
        if assessment_rules.is_coordinator(request.user):
            return super().get_ordering(request)
        return ["review__session__number", "review__order", "submitted_at", "pk"]

    def get_readonly_fields(self, request, obj=None):
        fields = list(super().get_readonly_fields(request, obj))
        if not assessment_rules.is_coordinator(request.user):
            # The organisation's other applications may be on States the assessor does not review.
            fields = [f for f in fields if f not in (*self.SCORE_FIELDS, "organisation_history")]
        return fields

    def get_exclude(self, request, obj=None):
        excluded = list(super().get_exclude(request, obj) or [])
        if not assessment_rules.is_coordinator(request.user):
            excluded += [*self.SCORE_FIELDS, *SENSITIVE_FIELDS]
        return excluded

    def get_actions(self, request):
        actions = super().get_actions(request)
        if not assessment_rules.is_coordinator(request.user):
            actions.pop("mark_eligible", None)
            actions.pop("delete_selected", None)
        return actions

    # Columns ------------------------------------------------------------

    def changelist_view(self, request, extra_context=None):
        extra_context = {
            **(extra_context or {}),
            "next_assessment_url": reverse("admin:applications_application_next_assessment"),
        }
        if assessment_rules.is_coordinator(request.user):
            latest = Call.objects.select_related("session").order_by("-opens_at").first()
            if latest:
                extra_context["dashboard_url"] = reverse("applications:dashboard", args=[latest.session.number])
        return super().changelist_view(request, extra_context)

    @admin.display(description=_("organisation"), ordering="organisation__name")
    def organisation_name(self, obj):
        return obj.organisation.name

    @admin.display(description=_("kind"))
    def kind_and_scope(self, obj):
        org = obj.organisation
        return f"{org.get_kind_display().split(' (')[-1].rstrip(')')}, {org.get_scope_display().lower() if org.scope else '–'}"

    @admin.display(description=_("State"), ordering="review__country")
    def state(self, obj):
        return obj.review.name

    @admin.display(description=_("session"), ordering="review__session__number")
    def session_number(self, obj):
        return obj.review.session.number

    @admin.display(description=_("themes"))
    def theme_list(self, obj):
        return ", ".join(theme.label for theme in obj.themes.all())

    @admin.display(description=_("criteria"))
    def criteria_badges(self, obj):
        assessed = obj.assessed
        badges = [
            (assessed["national"], _("National"), "N"),
            (assessed["report"], _("UPR report"), "R"),
            (assessed["coalition"], _("National coalition"), "C"),
            (obj.is_nhri_a, _("NHRI with A status"), "A"),
        ]
        return (
            format_html_join(
                " ",
                '<abbr class="badge-criterion" title="{}">{}</abbr>',
                ((str(title), letter) for on, title, letter in badges if on),
            )
            or "–"
        )

    @admin.display(description=_("mean score"), ordering="score_mean")
    def score(self, obj):
        return "–" if obj.score_mean is None else obj.score_mean

    @admin.display(description=_("spread"), ordering="score_spread")
    def spread(self, obj):
        return "–" if obj.score_spread is None else obj.score_spread

    @admin.display(description=_("my score"), ordering="my_total")
    def my_score(self, obj):
        return "–" if obj.my_total is None else obj.my_total

    @admin.display(description=_("assessment"))
    def assess_link(self, obj):
        if obj.status != ApplicationStatus.SUBMITTED or obj.screening != Screening.ELIGIBLE:
            return "–"
        label = _("Change my assessment") if obj.assessed_by_me else _("Assess")
        return format_html('<a href="{}">{}</a>', reverse("admin:applications_application_assess", args=[obj.pk]), label)

    @admin.display(description=_("report (PDF)"))
    def report_download(self, obj):
        if not obj.report_file:
            return "–"
        return format_html('<a href="{}">{}</a>', reverse("applications:report_file", args=[obj.pk]), _("Download the report"))

    @admin.display(description=_("history of the organisation"))
    def organisation_history(self, obj):
        others = identity.applications_of(obj.organisation).select_related("review__session").order_by("-review__session__number")
        return format_html_join(
            "", "<div>{} {} – {}</div>", ((a.review.session.number, a.review.name, a.get_status_display()) for a in others)
        )

    # Actions ------------------------------------------------------------

    @admin.action(description=_("Mark the selected applications eligible for assessment"))
    def mark_eligible(self, request, queryset):
        if not assessment_rules.is_coordinator(request.user):
            raise PermissionDenied
        screenable = list(queryset.filter(status__in=assessment_rules.SCREENABLE))
        for application in screenable:
            assessment_rules.screen_application(application, eligible=True, by=request.user)
        self.message_user(request, _("%(count)d application(s) marked eligible.") % {"count": len(screenable)}, messages.SUCCESS)
        if skipped := queryset.count() - len(screenable):
            self.message_user(
                request,
                _("%(count)d application(s) left as they were: drafts, withdrawn and declined applications are not screened.")
                % {"count": skipped},
                messages.WARNING,
            )

    # The assessment page ----------------------------------------------------

    def get_urls(self):
        return [
            path(
                "assess/next/",
                self.admin_site.admin_view(self.next_assessment_view),
                name="applications_application_next_assessment",
            ),
            path("<int:pk>/assess/", self.admin_site.admin_view(self.assess_view), name="applications_application_assess"),
            *super().get_urls(),
        ]

    def next_assessment_view(self, request):
        skipped = request.session.get(SKIPPED_SESSION_KEY, [])
        following = assessment_rules.next_for_assessor(request.user, skip=skipped)
        if following is None and skipped:
            request.session[SKIPPED_SESSION_KEY] = []
            following = assessment_rules.next_for_assessor(request.user)
        if following is None:
            self.message_user(request, _("Nothing left to assess in your States."), messages.SUCCESS)
            return HttpResponseRedirect(reverse("admin:applications_application_changelist"))
        return HttpResponseRedirect(reverse("admin:applications_application_assess", args=[following.pk]))

    def assess_view(self, request, pk):
        application = assessment_rules.get_application_for_assessor(request.user, pk)
        if not request.user.has_perm("applications.add_assessment"):
            raise PermissionDenied
        criteria = assessment_rules.ensure_rubric(application.review.session.call)
        existing = Assessment.objects.filter(application=application, assessor=request.user).first()
        form = AssessmentForm(request.POST or None, criteria=criteria, assessed=application.assessed, assessment=existing)
        if request.method == "POST" and request.POST.get("action") == "skip":
            skipped = request.session.get(SKIPPED_SESSION_KEY, [])
            request.session[SKIPPED_SESSION_KEY] = [*skipped, application.pk]
            return HttpResponseRedirect(reverse("admin:applications_application_next_assessment"))
        if request.method == "POST" and form.is_valid():
            try:
                assessment_rules.save_assessment(
                    application=application,
                    assessor=request.user,
                    marks=form.marks,
                    reasons=form.reasons,
                    comment=form.cleaned_data["comment"],
                    conflict=form.cleaned_data["conflict_of_interest"],
                    conflict_reason=form.cleaned_data["conflict_reason"],
                )
            except ValidationError as error:
                for problems in error.message_dict.values():
                    for message in problems:
                        form.add_error(None, message)
            else:
                self.message_user(request, _("Your assessment is saved."), messages.SUCCESS)
                if request.POST.get("action") == "next":
                    return HttpResponseRedirect(reverse("admin:applications_application_next_assessment"))
                return HttpResponseRedirect(reverse("admin:applications_application_assess", args=[application.pk]))
        others = []
        if assessment_rules.can_see_other_assessments(request.user, application):
            others = list(application.assessments.exclude(assessor=request.user).select_related("assessor"))
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "title": _("Assessment: %(org)s on %(state)s")
            % {"org": application.organisation.name, "state": application.review.name},
            "application": application,
            "form": form,
            "criteria": criteria,
            "max_total": sum(c.weight for c in criteria),
            "existing": existing,
            "others": others,
            "others_hidden": not assessment_rules.can_see_other_assessments(request.user, application),
            "show_sensitive": assessment_rules.is_coordinator(request.user),
            "history": assessment_rules.visible_applications(request.user)
            .filter(organisation=application.organisation)
            .exclude(pk=application.pk)
            .select_related("review__session"),
        }
        return render(request, "admin/applications/assess.html", context)


class ApplicationAdminForm(forms.ModelForm):
    """Screening checked as screen_application checks it, with the message next to the field."""

    class Meta:
        model = Application
        # Every field the change page shows: the admin then leaves out what a role may not see or change
        # (ApplicationAdmin.get_exclude, readonly_fields). A field added to the model shows only once listed here.
        fields = [
            "review",
            "organisation",
            "email",
            "report_submitted",
            "report_reference",
            "earlier_engagement",
            "themes",
            "statement_summary",
            "speaker_name",
            "speaker_gender",
            "speaker_role",
            "speaker_email",
            "speaker_phone",
            "working_language",
            "accessibility_needs",
            "attendance",
            "consent_data",
            "publication",
            "reminders_opt_out",
            "screening",
            "screening_reason",
        ]

    def clean(self):
        data = super().clean()
        if {"screening", "screening_reason"} & set(self.changed_data):
            try:
                assessment_rules.check_screening(self.instance, data.get("screening"), data.get("screening_reason") or "")
            except ValidationError as errors:
                self.add_error(None, errors)
        return data


ApplicationAdmin.form = ApplicationAdminForm


@admin.register(Organisation)
class OrganisationAdmin(AuditHistoryMixin, ScopedLookupsMixin, SimpleHistoryAdmin):
    list_display = [
        "name",
        "acronym",
        "kind",
        "scope",
        "country",
        "is_coalition",
        "email",
        "application_count",
        "same_as",
        "created_at",
    ]
    list_filter = ["kind", "scope", "is_coalition", "ecosoc_status", "nhri_status", "cso_form"]
    search_fields = ["name", "acronym", "email", "website"]
    actions = ["merge", "split"]
    readonly_fields = ["same_as", "copies_and_applications"]
    list_select_related = ["identity"]

    def get_queryset(self, request):
        queryset = super().get_queryset(request).annotate(num_applications=Count("applications"))
        if assessment_rules.is_coordinator(request.user):
            return queryset
        visible = assessment_rules.visible_applications(request.user).values("organisation")
        return queryset.filter(pk__in=visible)

    def has_change_permission(self, request, obj=None):
        return assessment_rules.is_coordinator(request.user) and super().has_change_permission(request, obj)

    def has_delete_permission(self, request, obj=None):
        return assessment_rules.is_coordinator(request.user) and super().has_delete_permission(request, obj)

    # Shown to coordinators only: the other records and applications of an organisation may be on
    # States an assessor does not review.
    COORDINATOR_ONLY = ("application_count", "same_as", "copies_and_applications")

    def get_list_display(self, request):
        columns = list(super().get_list_display(request))
        if not assessment_rules.is_coordinator(request.user):
            columns = [c for c in columns if c not in self.COORDINATOR_ONLY]  # it counts applications on other States too
        return columns

    def get_readonly_fields(self, request, obj=None):
        fields = list(super().get_readonly_fields(request, obj))
        if not assessment_rules.is_coordinator(request.user):
            fields = [f for f in fields if f not in self.COORDINATOR_ONLY]
        return fields

    def get_exclude(self, request, obj=None):
        return [*(super().get_exclude(request, obj) or []), "identity"]

    def get_list_filter(self, request):
        return self.list_filter if assessment_rules.is_coordinator(request.user) else []

    @admin.display(description=_("applications"), ordering="num_applications")
    def application_count(self, obj):
        return obj.num_applications

    @admin.action(description=_("Merge the selected organisations into one"))
    def merge(self, request, queryset):
        if not assessment_rules.is_coordinator(request.user):
            raise PermissionDenied
        organisations = sorted(queryset, key=lambda org: (-org.num_applications, org.created_at, org.pk))
        if len(organisations) < 2:
            self.message_user(request, _("Select at least two organisations to merge."), messages.WARNING)
            return None
        target = organisations[0]
        moved = assessment_rules.merge_organisations(target, organisations[1:], by=request.user)
        self.message_user(
            request,
            _(
                "“%(name)s” and %(count)d other record(s) are now one organisation (%(moved)d record(s) joined it). "
                "Each application keeps what its applicant wrote; panels count them as one."
            )
            % {"count": len(organisations) - 1, "name": target.name, "moved": moved},
            messages.SUCCESS,
        )
        return None

    @admin.action(description=_("Treat the selected records as separate organisations"))
    def split(self, request, queryset):
        if not assessment_rules.is_coordinator(request.user):
            raise PermissionDenied
        for organisation in queryset:
            identity.split(organisation, by=request.user)
        self.message_user(
            request, _("%(count)d record(s) now stand for organisations of their own.") % {"count": queryset.count()}
        )

    @admin.display(description=_("same organisation as"))
    def same_as(self, obj):
        if obj.identity_id in (None, obj.pk):
            return "–"
        return format_html(
            '<a href="{}">{}</a> ({})',
            reverse("admin:applications_organisation_change", args=[obj.identity_id]),
            obj.identity.name,
            REASONS.get(obj.identity_reason, obj.identity_reason),
        )

    @admin.display(description=_("records and applications of this organisation"))
    def copies_and_applications(self, obj):
        applications = (
            identity.applications_of(obj)
            .select_related("organisation", "review__session")
            .order_by("-review__session__number", "pk")
        )
        return format_html_join(
            "",
            "<div>{} {} – {} ({})</div>",
            ((a.review.session.number, a.review.name, a.get_status_display(), a.organisation.name) for a in applications),
        )


@admin.register(Assessment)
class AssessmentAdmin(AuditHistoryMixin, ScopedLookupsMixin, SimpleHistoryAdmin):
    list_display = ["application", "assessor", "total", "conflict_of_interest", "updated_at"]
    list_filter = ["conflict_of_interest", "application__review__session", "assessor"]
    search_fields = ["application__organisation__name", "comment"]
    list_select_related = ["application__organisation", "application__review", "assessor"]
    # A conflict is declared by the reviewer on the assessment page, which hands the application on
    # (applications.reviewing.after_review); ticking it here would bypass that.
    readonly_fields = [
        "application",
        "assessor",
        "marks",
        "override_reasons",
        "total",
        "conflict_of_interest",
        "conflict_reason",
        "created_at",
        "updated_at",
    ]

    def get_queryset(self, request):
        queryset = super().get_queryset(request)
        if assessment_rules.is_coordinator(request.user):
            return queryset
        return queryset.filter(assessor=request.user)

    def get_list_filter(self, request):
        if assessment_rules.is_coordinator(request.user):
            return self.list_filter
        return ["conflict_of_interest", "application__review__session"]

    def has_add_permission(self, request):
        return False  # assessments are written on the assessment page

    def has_change_permission(self, request, obj=None):
        return assessment_rules.is_coordinator(request.user) and super().has_change_permission(request, obj)


@admin.register(Criterion)
class CriterionAdmin(CoordinatorOnlyMixin, AuditHistoryMixin, SimpleHistoryAdmin):
    list_display = ["label", "call", "kind", "weight", "order"]
    list_editable = ["weight", "order"]
    list_filter = ["call__session", "kind"]
    search_fields = ["label", "key"]
    list_select_related = ["call__session"]

    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        assessment_rules.recompute_call(obj.call)


@admin.register(AssessorAssignment)
class AssessorAssignmentAdmin(CoordinatorOnlyMixin, admin.ModelAdmin):
    list_display = ["assessor", "review", "session_number"]
    list_filter = ["review__session", "assessor"]
    search_fields = ["assessor__username", "assessor__last_name", "review__country"]
    autocomplete_fields = ["review"]
    list_select_related = ["assessor", "review__session"]

    @admin.display(description=_("session"), ordering="review__session__number")
    def session_number(self, obj):
        return obj.review.session.number

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.name == "assessor":
            kwargs["queryset"] = get_user_model().objects.filter(is_staff=True, is_active=True).order_by("username")
        return super().formfield_for_foreignkey(db_field, request, **kwargs)


class ReviewerProfileForm(forms.ModelForm):
    languages = forms.MultipleChoiceField(
        label=_("working languages"),
        choices=WorkingLanguage.choices,
        widget=forms.CheckboxSelectMultiple,
        required=False,
        help_text=_("Empty: every language."),
    )

    class Meta:
        model = ReviewerProfile
        fields = ["user", "capacity", "languages", "organisations", "domains"]

    def clean_domains(self):
        from . import conflicts  # conflicts imports the models this module registers

        domains, errors = conflicts.check_domains(self.cleaned_data.get("domains", ""))
        if errors:
            raise forms.ValidationError(errors)
        return domains


@admin.register(ReviewerProfile)
class ReviewerProfileAdmin(CoordinatorOnlyMixin, admin.ModelAdmin):
    """What the review assignment needs about a reviewer (applications.reviewing): capacity, languages, ties."""

    form = ReviewerProfileForm
    list_display = ["user", "capacity", "languages"]
    search_fields = ["user__username", "user__first_name", "user__last_name", "domains"]
    # Not an autocomplete: Django's autocomplete asks the Organisation admin, which assessors may read,
    # not this coordinator-only one (the permission matrix caught it).
    raw_id_fields = ["organisations"]
    list_select_related = ["user"]

    def save_related(self, request, form, formsets, change):
        super().save_related(request, form, formsets, change)
        from . import reviewing  # reviewing imports the models this module registers

        # New domains or organisations may be new conflicts: hand those applications to someone else.
        transaction.on_commit(reviewing.repair_open_sessions)

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.name == "user":
            kwargs["queryset"] = get_user_model().objects.filter(is_staff=True, is_active=True).order_by("username")
        return super().formfield_for_foreignkey(db_field, request, **kwargs)


@admin.register(CallAlert)
class CallAlertAdmin(CoordinatorOnlyMixin, admin.ModelAdmin):
    list_display = ["email", "country", "language", "created_at", "confirmed_at", "unsubscribed_at"]
    list_filter = [
        "country",
        "language",
        ("confirmed_at", admin.EmptyFieldListFilter),
        ("unsubscribed_at", admin.EmptyFieldListFilter),
    ]
    search_fields = ["email"]


@admin.register(LogEntry)
class AuditLogAdmin(CoordinatorOnlyMixin, admin.ModelAdmin):
    """
    The admin's own log, read-only, for coordinators: who changed, deleted or exported what, and when
    (exports are recorded here, with whether they held sensitive fields). Nobody edits or deletes it.
    """

    list_display = ["action_time", "user", "content_type", "object_repr", "action_flag", "change_message_text"]
    list_filter = ["action_flag", "content_type"]
    search_fields = ["object_repr", "user__username"]
    date_hierarchy = "action_time"
    list_select_related = ["user", "content_type"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    @admin.display(description=_("change message"))
    def change_message_text(self, obj):
        return obj.get_change_message()
