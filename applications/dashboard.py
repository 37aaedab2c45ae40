"""
Figures for the coordinator dashboard of one session.

Every figure comes from a fixed number of aggregate queries, whatever the
number of applications. Only submitted applications count (drafts and
withdrawals are not part of the pool).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

from django.db.models import Count, Q
from django.utils.translation import gettext as _

from presessions.models import Session, Theme

from .assessment import assessor_progress
from .enums import ApplicationStatus, Gender, OrganisationKind, ReportSubmission, Scope, Screening
from .models import Application

CHART_WIDTH = 300
BAR_WIDTH = 200


@dataclass
class Part:
    label: str
    count: int
    percent: int
    css: str
    x: float
    width: float


@dataclass
class Share:
    label: str
    parts: list[Part]
    total: int


def _share(label: str, total: int, parts: list[tuple[str, int, str]]) -> Share:
    """A stacked bar: each part's share of the total, with its offset and width on the chart."""
    result, x = [], 0.0
    for name, count, css in parts:
        width = CHART_WIDTH * count / total if total else 0.0
        result.append(Part(name, count, round(100 * count / total) if total else 0, css, round(x, 1), round(width, 1)))
        x += width
    return Share(label, result, total)


def session_stats(session: Session) -> dict:
    pool = Application.objects.filter(review__session=session, status=ApplicationStatus.SUBMITTED)
    national = Q(organisation__scope=Scope.NATIONAL)
    totals = pool.aggregate(
        total=Count("pk"),
        nhri=Count("pk", filter=Q(organisation__kind=OrganisationKind.NHRI)),
        cso=Count("pk", filter=Q(organisation__kind=OrganisationKind.CSO)),
        national=Count("pk", filter=national),
        regional=Count("pk", filter=Q(organisation__scope=Scope.REGIONAL)),
        international=Count("pk", filter=Q(organisation__scope=Scope.INTERNATIONAL)),
        report=Count("pk", filter=Q(report_submitted__in=[ReportSubmission.ALONE, ReportSubmission.JOINT])),
        no_report=Count("pk", filter=~Q(report_submitted__in=[ReportSubmission.ALONE, ReportSubmission.JOINT])),
        coalition=Count("pk", filter=Q(organisation__is_coalition=True)),
        single=Count("pk", filter=Q(organisation__is_coalition=False)),
        **{f"gender_{g.value}": Count("pk", filter=Q(speaker_gender=g.value)) for g in Gender},
    )
    total = totals["total"]
    shares = [
        _share(_("Kind"), total, [(_("NHRI"), totals["nhri"], "s1"), (_("CSO"), totals["cso"], "s2")]),
        _share(
            _("Scope"),
            total,
            [
                (_("National"), totals["national"], "s1"),
                (_("Regional"), totals["regional"], "s2"),
                (_("International"), totals["international"], "s3"),
            ],
        ),
        _share(
            _("UPR report"),
            total,
            [(_("Submitted a report"), totals["report"], "s1"), (_("No report"), totals["no_report"], "s2")],
        ),
        _share(
            _("Coalitions"),
            total,
            [(_("Coalition"), totals["coalition"], "s1"), (_("Single organisation"), totals["single"], "s2")],
        ),
        _share(
            _("Speakers' gender"),
            total,
            [(str(g.label), totals[f"gender_{g.value}"], f"s{i}") for i, g in enumerate(Gender, start=1)],
        ),
    ]

    per_state = list(
        session.reviews.order_by("order").annotate(
            applications_count=Count("applications", filter=Q(applications__status=ApplicationStatus.SUBMITTED)),
            eligible_count=Count(
                "applications",
                filter=Q(applications__status=ApplicationStatus.SUBMITTED, applications__screening=Screening.ELIGIBLE),
            ),
            assessed_count=Count(
                "applications",
                filter=Q(applications__status=ApplicationStatus.SUBMITTED, applications__score_count__gt=0),
            ),
        )
    )
    most = max((r.applications_count for r in per_state), default=0) or 1
    for review in per_state:
        review.bar_width = round(BAR_WIDTH * review.applications_count / most, 1)

    themes = defaultdict(list)
    localized = f"theme__{Theme.label_field()}"
    rows = (
        Application.themes.through.objects.filter(
            application__review__session=session, application__status=ApplicationStatus.SUBMITTED
        )
        .values(*dict.fromkeys(["application__review", "theme__label", localized]))
        .annotate(n=Count("pk"))
        .order_by("application__review", "-n", localized, "theme__label")
    )
    for row in rows:
        themes[row["application__review"]].append((row[localized] or row["theme__label"], row["n"]))
    for review in per_state:
        review.themes = themes.get(review.pk, [])

    return {"total": total, "shares": shares, "per_state": per_state, "progress": assessor_progress(session)}
