"""
The record: what the Pre-sessions achieved, per session, per cycle and overall, for staff, donors
and the public.

Every figure is a count over categories that an erasure keeps (status, NHRI or CSO, scope, the
speaker's gender, themes, panel roles, check-ins by mission, whether the organisation applied for
the first time), never over names, so the record is the same before and after the purge of personal
data (applications.privacy). Each grouping costs the same five queries, whatever the number of
sessions.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import Count, Exists, F, OuterRef, Q, Sum
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from applications.enums import ApplicationStatus, Gender, OrganisationKind, Scope
from applications.models import Application, told_decisions

from .enums import MemberRole
from .models import MeetingRecord, MissionCheckIn, PanelMember

# The columns of the record, in order, with their labels (the CSV's header, the tables' headings).
COLUMNS = {
    "applications": _("Applications"),
    "selected": pgettext_lazy("record: speakers selected", "Selected"),
    "confirmed": _("Confirmed speakers"),
    "nhri": _("NHRIs applying"),
    "cso": _("CSOs applying"),
    "national": _("National organisations applying"),
    "international": _("Regional or international organisations applying"),
    "first_timers": _("Applications from organisations applying for the first time"),
    "first_timers_selected": _("Selected speakers from organisations applying for the first time"),
    "women": _("Women speakers"),
    "men": _("Men speakers"),
    "themes": _("Themes covered by selected speakers"),
    "meetings": _("Meetings with missions recorded"),
    "mission_visits": _("Missions at meetings"),
    "missions": _("Different missions"),
    "delegates": _("Delegates"),
    "statements": _("Meetings where the State under Review took its statement"),
    "statements_recorded": _("Meetings where this was recorded"),
}


@dataclass
class Figures:
    key: object  # a session's or a cycle's number, or None overall
    applications: int = 0
    selected: int = 0
    confirmed: int = 0
    nhri: int = 0
    cso: int = 0
    national: int = 0
    international: int = 0
    first_timers: int = 0
    first_timers_selected: int = 0
    women: int = 0
    men: int = 0
    themes: int = 0
    meetings: int = 0
    mission_visits: int = 0
    missions: int = 0
    delegates: int = 0
    statements: int = 0
    statements_recorded: int = 0

    @property
    def missions_per_meeting(self) -> float | None:
        return round(self.mission_visits / self.meetings, 1) if self.meetings else None

    def values(self) -> list[int]:
        return [getattr(self, name) for name in COLUMNS]


def _grouped(queryset, path: str | None, **aggregates) -> dict[object, dict]:
    if path is None:
        return {None: queryset.aggregate(**aggregates)}
    return {row.pop("group"): row for row in queryset.values(group=F(path)).annotate(**aggregates).order_by()}


def figures(by: str | None) -> list[Figures]:
    """
    The record grouped `by` "session" (its number), "cycle" (its number), or None (overall).
    Sessions and cycles with nothing to count are left out.
    """
    prefix = {"session": "session__number", "cycle": "session__cycle__number", None: None}[by]

    def path(to_review: str) -> str | None:
        return f"{to_review}__{prefix}" if prefix else None

    # A selection counts once the applicant has been told (or their data erased since): a panel
    # finalised early, its decisions still drafts, must not show on the public page.
    told = Exists(told_decisions().filter(object_id=OuterRef("pk")))
    announced = Q(status=ApplicationStatus.SELECTED) & (Q(told=True) | Q(erased_at__isnull=False))
    applications = _grouped(
        Application.objects.exclude(status=ApplicationStatus.DRAFT).annotate(told=told),
        path("review"),
        applications=Count("pk"),
        selected=Count("pk", filter=announced),
        nhri=Count("pk", filter=Q(organisation__kind=OrganisationKind.NHRI)),
        cso=Count("pk", filter=Q(organisation__kind=OrganisationKind.CSO)),
        national=Count("pk", filter=Q(organisation__scope=Scope.NATIONAL)),
        international=Count("pk", filter=Q(organisation__scope__in=[Scope.REGIONAL, Scope.INTERNATIONAL])),
        first_timers=Count("pk", filter=Q(first_time=True)),
        first_timers_selected=Count("pk", filter=announced & Q(first_time=True)),
    )
    speakers = _grouped(
        PanelMember.objects.filter(role=MemberRole.SPEAKER, confirmed_at__isnull=False, declined_at__isnull=True),
        path("panel__review"),
        confirmed=Count("pk"),
        women=Count("pk", filter=Q(application__speaker_gender=Gender.WOMAN)),
        men=Count("pk", filter=Q(application__speaker_gender=Gender.MAN)),
    )
    themes = _grouped(
        Application.themes.through.objects.filter(
            Q(application__erased_at__isnull=False) | Exists(told_decisions().filter(object_id=OuterRef("application_id"))),
            application__status=ApplicationStatus.SELECTED,
        ),
        path("application__review"),
        themes=Count("theme", distinct=True),
    )
    missions = _grouped(
        MissionCheckIn.objects.all(),
        path("review"),
        meetings=Count("review", distinct=True),
        mission_visits=Count("pk"),
        missions=Count("mission", distinct=True),
        delegates=Sum("delegates"),
    )
    statements = _grouped(
        MeetingRecord.objects.filter(state_statement_taken__isnull=False),
        path("review"),
        statements=Count("pk", filter=Q(state_statement_taken=True)),
        statements_recorded=Count("pk"),
    )
    keys = set(applications) | set(speakers) | set(missions) | set(statements)
    result = []
    for key in sorted(keys, key=lambda k: (k is None, k)):
        row = Figures(key)
        for source in (applications, speakers, themes, missions, statements):
            for name, value in source.get(key, {}).items():
                setattr(row, name, value or 0)
        if by is None or any(row.values()):
            result.append(row)
    return result


def csv_rows(by: str | None) -> list[list]:
    """The record as rows for a CSV: a header, then one row per group."""
    header = [str(_("Session") if by == "session" else _("Cycle") if by == "cycle" else _("Overall"))]
    header += [str(label) for label in COLUMNS.values()] + [str(_("Missions per meeting"))]
    rows = [header]
    for row in figures(by):
        rows.append([row.key if row.key is not None else str(_("All"))] + row.values() + [row.missions_per_meeting or ""])
    return rows
