"""
Assessment of applications by UPR Info staff: who sees what, screening, saving a
assessment and keeping each application's score up to date.

Two roles (groups created by a data migration):

- a Coordinator (permission `applications.coordinate`) sees every State,
  every review, the rankings, the exports and the dashboard;
- an Assessor sees only the eligible, submitted applications on the States
  assigned to them, and sees other assessors' marks on an application only
  once their own assessment of it is saved. An assessor who declares a conflict of
  interest is excluded from that application.
"""

from __future__ import annotations

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import Count, Exists, OuterRef, Q, QuerySet, Subquery
from django.utils.translation import gettext as _

from presessions.models import Call

from . import conflicts, identity, reviewing, scoring
from .enums import ApplicationStatus, Screening
from .models import Application, Assessment, AssessorAssignment, Criterion, Organisation, ReviewAssignment


def is_coordinator(user) -> bool:
    return bool(user.is_active and (user.is_superuser or user.has_perm("applications.coordinate")))


def ensure_rubric(call: Call) -> list[Criterion]:
    """Give a call the default 2012 rubric if it has no criteria yet; return its criteria."""
    criteria = list(call.criteria.all())
    if criteria:
        return criteria
    for order, (key, label, kind, weight) in enumerate(scoring.DEFAULT_RUBRIC, start=1):
        Criterion.objects.get_or_create(
            call=call, key=key, defaults={"label": label, "kind": kind, "weight": weight, "order": order}
        )
    return list(call.criteria.all())


def visible_applications(user) -> QuerySet[Application]:
    """Every application the user may see in the admin."""
    if is_coordinator(user):
        return Application.objects.all()
    if not user.has_perm("applications.view_application"):
        return Application.objects.none()
    return Application.objects.filter(
        _on_my_states_or_assigned(user), status=ApplicationStatus.SUBMITTED, screening=Screening.ELIGIBLE
    ).exclude(conflicts.conflicted_q(user))


def assessable_applications(user) -> QuerySet[Application]:
    """What the user can assess: eligible, submitted applications on their States (every State for a coordinator)."""
    base = Application.objects.filter(status=ApplicationStatus.SUBMITTED, screening=Screening.ELIGIBLE)
    base = base.exclude(conflicts.conflicted_q(user))
    if is_coordinator(user) and not user.assignments.exists():
        return base
    return base.filter(_on_my_states_or_assigned(user))


def _on_my_states_or_assigned(user) -> Q:
    """On a State the user assesses, or given to them by the review assignment (applications.reviewing)."""
    return Q(Exists(AssessorAssignment.objects.filter(assessor=user, review=OuterRef("review")))) | Q(
        Exists(ReviewAssignment.objects.filter(reviewer=user, application=OuterRef("pk"), applied_at__isnull=False))
    )


def get_application_for_assessor(user, pk: int) -> Application:
    """Return the application, or raise PermissionDenied when the user may not assess it."""
    application = assessable_applications(user).select_related("organisation", "review__session__call").filter(pk=pk).first()
    if application is None:
        raise PermissionDenied
    return application


def can_see_other_assessments(user, application: Application) -> bool:
    """Assessments stay independent: an assessor sees the others' marks only after saving their own."""
    if is_coordinator(user):
        return True
    return Assessment.objects.filter(
        application=application, assessor=user, conflict_of_interest=False, total__isnull=False
    ).exists()


def with_my_assessment(queryset: QuerySet[Application], user) -> QuerySet[Application]:
    """Annotate `assessed_by_me` (a saved, non-conflicted assessment), `conflict_for_me` and `my_total`."""
    mine = Assessment.objects.filter(application=OuterRef("pk"), assessor=user)
    return queryset.annotate(
        assessed_by_me=Exists(mine.filter(conflict_of_interest=False, total__isnull=False)),
        conflict_for_me=Exists(mine.filter(conflict_of_interest=True)),
        my_total=Subquery(mine.filter(conflict_of_interest=False).values("total")[:1]),
    )


def next_for_assessor(user, *, skip: list[int] = ()) -> Application | None:
    """
    The oldest application the user has not assessed yet; None when the queue is empty.

    The order depends on nothing other assessors did: ordering by the number of assessments would
    tell an assessor which applications others have already scored.
    """
    mine = Exists(ReviewAssignment.objects.filter(reviewer=user, application=OuterRef("pk"), applied_at__isnull=False))
    return (
        assessable_applications(user)
        .exclude(assessments__assessor=user)
        .exclude(pk__in=list(skip))
        .annotate(mine=mine)
        .order_by("-mine", "submitted_at", "pk")
        .first()
    )


@transaction.atomic
def save_assessment(
    *,
    application: Application,
    assessor,
    marks: dict,
    reasons: dict,
    comment: str = "",
    conflict: bool = False,
    conflict_reason: str = "",
) -> Assessment:
    """
    Create or update the assessor's assessment of an application.

    Side effects, in order: the marks are checked against the call's rubric
    (ValidationError naming each criterion in trouble), the assessment is saved
    with its weighted total (no total for a declared conflict), then the
    application's mean, count and spread are recomputed.
    """
    # Lock the application: two assessments saved at once must each see the other when the mean is recomputed.
    Application.objects.select_for_update().filter(pk=application.pk).first()
    call = application.review.session.call
    criteria = ensure_rubric(call)
    if conflict:
        total = None
        marks, reasons = {}, {}
    else:
        problems = scoring.check_marks(marks, reasons, criteria, application.assessed)
        if problems:
            raise ValidationError(
                {
                    key: _("Give a reason for overriding the pre-assessment.")
                    if kind == "reason"
                    else _("Give a rating from 1 to 5.")
                    for key, kind in problems.items()
                }
            )
        total = scoring.assessment_total(marks, criteria)
        reasons = {
            key: reason
            for key, reason in reasons.items()
            if key in application.assessed and bool(marks.get(key)) != application.assessed[key]
        }
    assessment, _created = Assessment.objects.update_or_create(
        application=application,
        assessor=assessor,
        defaults={
            "marks": marks,
            "override_reasons": reasons,
            "comment": comment,
            "total": total,
            "conflict_of_interest": conflict,
            "conflict_reason": conflict_reason if conflict else "",
        },
    )
    update_score(application)
    reviewing.after_review(application, assessor, conflict=conflict)
    return assessment


def update_score(application: Application) -> scoring.Aggregate:
    """Recompute an application's mean, count and spread from the assessments that count."""
    totals = Assessment.objects.filter(application=application, conflict_of_interest=False, total__isnull=False).values_list(
        "total", flat=True
    )
    result = scoring.aggregate(totals)
    Application.objects.filter(pk=application.pk).update(
        score_mean=result.mean, score_count=result.count, score_spread=result.spread
    )
    return result


def recompute_call(call: Call) -> int:
    """Recompute every assessment total and score of a call, after its weights changed; return the number of assessments."""
    criteria = ensure_rubric(call)
    assessments = Assessment.objects.filter(application__review__session__call=call, conflict_of_interest=False).select_related(
        "application"
    )
    touched = set()
    for assessment in assessments:
        assessment.total = scoring.assessment_total(assessment.marks, criteria)
        assessment.save(update_fields=["total", "updated_at"])
        touched.add(assessment.application)
    for application in touched:
        update_score(application)
    session = getattr(call, "session", None)
    if session is not None:
        reviewing.recalibrate(session)  # calibrated scores follow the new totals
    return len(touched)


# Applications that can be screened: submitted ones, and decided ones while their panel is reworked.
# A draft is not finished, a withdrawn application is not in the pool, and a decline is final.
SCREENABLE = [ApplicationStatus.SUBMITTED, ApplicationStatus.SELECTED, ApplicationStatus.RESERVE, ApplicationStatus.NOT_SELECTED]


def check_screening(application: Application, screening: str, reason: str) -> None:
    """Raise a ValidationError, by field, if `application` may not be screened as `screening` for `reason`."""
    errors = {}
    if application.status not in SCREENABLE:
        errors["screening"] = _("Only a submitted application can be screened.")
    if screening == Screening.INELIGIBLE and not reason.strip():
        errors["screening_reason"] = _("Give the reason it is ineligible.")
    if errors:
        raise ValidationError(errors)


@transaction.atomic
def screen_application(application: Application, *, eligible: bool, reason: str = "", by=None) -> Application:
    """
    Mark an application eligible or ineligible for assessment; ineligibility needs a reason.

    The one way screening changes (the admin's form and its "mark eligible" action call it); it is
    recorded in the application's history, with who did it.
    """
    check_screening(application, Screening.ELIGIBLE if eligible else Screening.INELIGIBLE, reason)
    application.screening = Screening.ELIGIBLE if eligible else Screening.INELIGIBLE
    application.screening_reason = "" if eligible else reason.strip()
    application._change_reason = "screened"
    if by is not None:
        application._history_user = by
    application.save(update_fields=["screening", "screening_reason", "updated_at"])
    if eligible:
        reviewing.assign_on_arrival(application)
    return application


def merge_organisations(target: Organisation, duplicates: list[Organisation], *, by=None) -> int:
    """
    Treat `duplicates` as the same organisation as `target`; return how many copies joined it.

    Each application keeps its own copy of the organisation (what its applicant wrote, which only
    they edit); the copies share one identity (see identity.py), which the panel rules count.
    """
    return identity.merge(target, [org for org in duplicates if org.pk != target.pk], by=by)


def assessor_progress(session) -> list[dict]:
    """Per assessor of a session: how many applications they can assess, and how many they have assessed."""
    eligible = Q(review__applications__status=ApplicationStatus.SUBMITTED, review__applications__screening=Screening.ELIGIBLE)
    assigned = (
        AssessorAssignment.objects.filter(review__session=session)
        .values("assessor", "assessor__username", "assessor__first_name", "assessor__last_name")
        .annotate(todo=Count("review__applications", filter=eligible, distinct=True))
    )
    done = dict(
        Assessment.objects.filter(application__review__session=session, total__isnull=False)
        .values("assessor")
        .annotate(n=Count("pk"))
        .values_list("assessor", "n")
    )
    rows = []
    for row in assigned.order_by("assessor__username"):
        name = f"{row['assessor__first_name']} {row['assessor__last_name']}".strip() or row["assessor__username"]
        todo, finished = row["todo"], done.get(row["assessor"], 0)
        rows.append(
            {
                "name": name,
                "todo": todo,
                "done": min(finished, todo),
                "percent": round(100 * min(finished, todo) / todo) if todo else 0,
            }
        )
    return rows
