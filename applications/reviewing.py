"""
Review at scale (issue 19): who reviews which application, how far they are, and calibrated scores.

- `propose` runs the assignment rules (assignment.py) for a session: every submitted, eligible
  application gets the call's `reviews_per_application`, within each reviewer's capacity, their
  States (their assessor assignments in the session, if any; otherwise every State), their working
  languages, and never where they conflict (conflicts.py). Assignments already applied, and reviews
  already given, stay; the proposal only adds. `apply` turns the proposal into assignments; a
  coordinator can drop or add pairs in between.
- An application screened eligible after assignments were applied is assigned on arrival, the same
  way, without moving anything (`assign_on_arrival`).
- When an application's reviews disagree strongly (calibration.py), one more reviewer is asked
  (`ask_one_more`), once.
- `recalibrate` keeps every application's calibrated score up to date; the call says whether
  panels use it or the raw mean.
- `remind` emails reviewers with open assignments two days before the reviews are due.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections import Counter, defaultdict
from decimal import Decimal

from django.conf import settings
from django.db import transaction
from django.db.models import Count, Exists, OuterRef
from django.urls import reverse
from django.utils import timezone

from outbox.delivery import queue_email
from outbox.links import absolute_url, dedupe_key
from presessions.models import Session

from . import assignment, calibration, conflicts, scoring
from .enums import ApplicationStatus, Screening
from .models import Application, Assessment, AssessorAssignment, ReviewAssignment, ReviewerProfile, ReviewExclusion

logger = logging.getLogger(__name__)
REMIND_BEFORE = dt.timedelta(days=2)
TWO_PLACES = Decimal("0.01")


def reviewable(session: Session):
    return Application.objects.filter(review__session=session, status=ApplicationStatus.SUBMITTED, screening=Screening.ELIGIBLE)


def _problem(session: Session, only: list[int] | None = None):
    """
    The assignment problem of a session (or of its `only` applications, around the rest): its items
    and reviewers, from a constant number of queries.
    """
    call = session.call
    users = list(conflicts.reviewer_users(session))
    profiles = {p.user_id: p for p in ReviewerProfile.objects.filter(user__in=users)}
    states = defaultdict(set)
    for assessor_id, review_id in AssessorAssignment.objects.filter(review__session=session).values_list(
        "assessor_id", "review_id"
    ):
        states[assessor_id].add(review_id)
    in_session = ReviewAssignment.objects.filter(application__review__session=session)
    loads = Counter(dict(in_session.values_list("reviewer_id").annotate(n=Count("pk")).order_by()))
    # A review given without an assignment (a coordinator's, or from before assignment) is work done too.
    unassigned = (
        Assessment.objects.filter(application__review__session=session, conflict_of_interest=False, total__isnull=False)
        .exclude(Exists(ReviewAssignment.objects.filter(application=OuterRef("application"), reviewer=OuterRef("assessor"))))
        .values_list("assessor_id")
        .annotate(n=Count("pk"))
        .order_by()
    )
    loads.update(dict(unassigned))
    taken = defaultdict(set)  # application -> reviewers who have it (assigned, proposed or reviewed)
    reviews = Assessment.objects.filter(application__review__session=session, conflict_of_interest=False)
    if only is not None:
        in_session, reviews = in_session.filter(application__in=only), reviews.filter(application__in=only)
    for application_id, reviewer_id in in_session.values_list("application_id", "reviewer_id"):
        taken[application_id].add(reviewer_id)
    for application_id, reviewer_id in reviews.values_list("application_id", "assessor_id"):
        taken[application_id].add(reviewer_id)
    conflicted = conflicts.by_application(conflicts.for_session(session, users, only))
    excluded = ReviewExclusion.objects.filter(application__review__session=session)
    if only is not None:
        excluded = excluded.filter(application__in=only)
    for application_id, reviewer_id in excluded.values_list("application_id", "reviewer_id"):
        conflicted[application_id].add(reviewer_id)  # taken out by a coordinator: never proposed again
    reviewers = []
    for user in users:
        profile = profiles.get(user.pk)
        capacity = profile.capacity if profile else ReviewerProfile._meta.get_field("capacity").default
        languages = frozenset(profile.languages) if profile and profile.languages else None
        reviewers.append(
            assignment.Reviewer(
                id=user.pk,
                capacity=max(capacity, loads[user.pk]),
                states=frozenset(states[user.pk]) if states[user.pk] else None,
                languages=languages,
                existing_load=loads[user.pk],
            )
        )
    applications = reviewable(session)
    if only is not None:
        applications = applications.filter(pk__in=only)
    items = [
        assignment.Item(
            id=pk,
            state=review_id,
            language=language,
            conflicts=frozenset(conflicted.get(pk, ())),
            assigned=frozenset(taken.get(pk, ())),
        )
        for pk, review_id, language in applications.values_list("pk", "review_id", "working_language")
    ]
    return items, reviewers, call.reviews_per_application, users


@transaction.atomic
def propose(session: Session) -> assignment.Proposal:
    """
    Replace the session's unapplied proposal with a new one. Applied assignments, reviews given and
    the coordinator's own additions stay; pairs the coordinator took out are not proposed again.
    """
    ReviewAssignment.objects.filter(
        application__review__session=session, applied_at__isnull=True, source=ReviewAssignment.Source.AUTO
    ).delete()
    drop_invalid(session)
    items, reviewers, k, _users = _problem(session)
    proposal = assignment.assign(items, reviewers, k)
    ReviewAssignment.objects.bulk_create(
        [ReviewAssignment(application_id=a, reviewer_id=r, source=ReviewAssignment.Source.AUTO) for a, r in proposal.pairs]
    )
    return proposal


def drop_invalid(session: Session) -> set[int]:
    """
    Take out the assignments not yet reviewed that no longer hold, and return their applications:
    the application left the pool (withdrawn, screened out); the reviewer now conflicts with it
    (a new domain in their profile, an applicant's new website or email); the reviewer no longer
    reviews (deactivated, out of the Assessor group); or the application moved out of the
    reviewer's States or working languages (the applicant changed it).
    """
    reviewed = Exists(
        Assessment.objects.filter(application=OuterRef("application"), assessor=OuterRef("reviewer"), total__isnull=False)
    )
    open_rows = ReviewAssignment.objects.filter(application__review__session=session).exclude(reviewed)
    gone = dict(open_rows.exclude(application__in=reviewable(session)).values_list("pk", "application_id"))
    conflicted = {(c.application_id, c.reviewer_id) for c in conflicts.for_session(session)}
    users = {user.pk: user for user in conflicts.reviewer_users(session)}
    languages = {p.user_id: set(p.languages) for p in ReviewerProfile.objects.filter(user_id__in=list(users)) if p.languages}
    states = defaultdict(set)
    for assessor_id, review_id in AssessorAssignment.objects.filter(review__session=session).values_list(
        "assessor_id", "review_id"
    ):
        states[assessor_id].add(review_id)
    for pk, application_id, reviewer_id, review_id, language in open_rows.values_list(
        "pk", "application_id", "reviewer_id", "application__review_id", "application__working_language"
    ):
        if (
            (application_id, reviewer_id) in conflicted
            or reviewer_id not in users
            or (states[reviewer_id] and review_id not in states[reviewer_id])
            or (reviewer_id in languages and language and language not in languages[reviewer_id])
        ):
            gone[pk] = application_id
    ReviewAssignment.objects.filter(pk__in=gone).delete()
    return set(gone.values())


def repair_open_sessions(*, now: dt.datetime | None = None) -> int:
    """repair() every session whose reviews are not yet due (after a reviewer's profile changes)."""
    now = now or timezone.now()
    return sum(
        repair(session)
        for session in Session.objects.filter(call__isnull=False).select_related("call")
        if session.call.reviews_due() >= now
    )


def repair(session: Session) -> int:
    """
    Drop the assignments that no longer hold (drop_invalid) and, once assignments are applied,
    give their applications other reviewers, as for a late arrival. Return how many were dropped.
    Run before each reminder round and whenever a coordinator acts on the reviewers page.
    """
    affected = drop_invalid(session)
    if affected and _session_applied(session):
        for application in reviewable(session).filter(pk__in=affected).select_related("review__session"):
            assign_on_arrival(application)
    return len(affected)


@transaction.atomic
def apply(session: Session, *, now: dt.datetime | None = None) -> int:
    """
    Turn the proposal into assignments, then ask the extra reviews that disagreement already calls
    for; return how many. Pairs that stopped holding since the proposal (a new conflict, a reviewer
    deactivated, a State or language changed) are dropped first.
    """
    drop_invalid(session)
    count = ReviewAssignment.objects.filter(application__review__session=session, applied_at__isnull=True).update(
        applied_at=now or timezone.now()
    )
    if count:
        for application in reviewable(session).filter(pk__in=list(calibrate(session).disagreements)):
            ask_one_more(application, now=now)
    return count


class NotAllowed(ValueError):
    pass


def add(application: Application, reviewer, *, now: dt.datetime | None = None) -> ReviewAssignment:
    """A coordinator's own choice: refused where the reviewer conflicts, or already has the application."""
    if not reviewable(application.review.session).filter(pk=application.pk).exists():
        raise NotAllowed("not reviewable")
    if Application.objects.filter(pk=application.pk).filter(conflicts.conflicted_q(reviewer)).exists():
        raise NotAllowed("conflict")
    existing = ReviewAssignment.objects.filter(application=application, reviewer=reviewer).first()
    if existing or Assessment.objects.filter(application=application, assessor=reviewer).exists():
        raise NotAllowed("already")
    # The same rules as the proposal: the reviewer's States, languages and capacity.
    session = application.review.session
    items, reviewers, _k, _users = _problem(session, only=[application.pk])
    mine = next((r for r in reviewers if r.id == reviewer.pk), None)
    if mine is None or not items:
        raise NotAllowed("not a reviewer")
    if mine.states is not None and application.review_id not in mine.states:
        raise NotAllowed("state")
    if mine.languages is not None and application.working_language and application.working_language not in mine.languages:
        raise NotAllowed("language")
    if mine.existing_load >= mine.capacity:
        raise NotAllowed("capacity")
    applied = now or timezone.now() if _session_applied(application.review.session) else None
    ReviewExclusion.objects.filter(application=application, reviewer=reviewer).delete()
    return ReviewAssignment.objects.create(
        application=application, reviewer=reviewer, source=ReviewAssignment.Source.MANUAL, applied_at=applied
    )


def _session_applied(session: Session) -> bool:
    return ReviewAssignment.objects.filter(application__review__session=session, applied_at__isnull=False).exists()


@transaction.atomic
def drop(assignment_row: ReviewAssignment) -> None:
    """
    Take a pair out (a proposal, or an assignment not reviewed yet: a given review stays). The pair
    is remembered, so no later proposal, arrival or disagreement brings it back; adding it by hand does.
    """
    ReviewExclusion.objects.update_or_create(
        application_id=assignment_row.application_id,
        reviewer_id=assignment_row.reviewer_id,
        defaults={"source": assignment_row.source},
    )
    assignment_row.delete()


@transaction.atomic
def assign_on_arrival(application: Application, *, now: dt.datetime | None = None) -> int:
    """Assign a newly eligible application around the existing assignments, once assignments have been applied."""
    session = application.review.session
    if not _session_applied(session):
        return 0
    items, reviewers, k, _users = _problem(session, only=[application.pk])
    proposal = assignment.assign(items, reviewers, k)
    ReviewAssignment.objects.bulk_create(
        [
            ReviewAssignment(
                application_id=a, reviewer_id=r, source=ReviewAssignment.Source.LATE, applied_at=now or timezone.now()
            )
            for a, r in proposal.pairs
        ]
    )
    return len(proposal.pairs)


def _marks(session: Session) -> list[calibration.Mark]:
    return [
        calibration.Mark(reviewer, application, float(total))
        for application, reviewer, total in Assessment.objects.filter(
            application__review__session=session, conflict_of_interest=False, total__isnull=False
        ).values_list("application_id", "assessor_id", "total")
    ]


def _scale(session: Session) -> tuple[float, float]:
    call = getattr(session, "call", None)
    criteria = list(call.criteria.all()) if call else []
    return 0.0, float(scoring.max_total(criteria)) if criteria else 10.0


def calibrate(session: Session) -> calibration.Calibration:
    low, high = _scale(session)
    return calibration.calibrate(_marks(session), low=low, high=high, min_count=session.call.calibration_min_count)


def recalibrate(session: Session) -> int:
    """Store every reviewed application's calibrated score; return how many changed."""
    result = calibrate(session)
    changed = []
    for application in reviewable(session).only("pk", "score_calibrated"):
        value = result.scores.get(application.pk)
        value = Decimal(str(value)).quantize(TWO_PLACES) if value is not None else None
        if application.score_calibrated != value:
            application.score_calibrated = value
            changed.append(application)
    Application.objects.bulk_update(changed, ["score_calibrated"], batch_size=500)
    return len(changed)


def ask_one_more(application: Application, *, now: dt.datetime | None = None) -> bool:
    """When the reviews of an application disagree strongly, assign one more reviewer, once."""
    session = application.review.session
    once = ReviewAssignment.Source.DISAGREEMENT
    if (
        ReviewAssignment.objects.filter(application=application, source=once).exists()
        or ReviewExclusion.objects.filter(application=application, source=once).exists()
    ):
        return False
    totals = [
        float(t)
        for t in Assessment.objects.filter(application=application, conflict_of_interest=False, total__isnull=False).values_list(
            "total", flat=True
        )
    ]
    low, high = _scale(session)
    marks = [calibration.Mark(n, application.pk, total) for n, total in enumerate(totals)]
    if len(totals) < 2 or application.pk not in calibration.calibrate(marks, low=low, high=high).disagreements:
        return False
    items, reviewers, _k, _users = _problem(session, only=[application.pk])
    if not items:
        return False
    proposal = assignment.assign(items, reviewers, len(items[0].assigned) + 1)
    for a, r in proposal.pairs[:1]:
        ReviewAssignment.objects.create(
            application_id=a, reviewer_id=r, source=ReviewAssignment.Source.DISAGREEMENT, applied_at=now or timezone.now()
        )
        return True
    return False


def after_review(application: Application, reviewer, *, conflict: bool) -> None:
    """
    After a review is saved: a declared conflict frees the reviewer's assignment and asks another
    reviewer instead; strong disagreement asks one more; the session's calibrated scores follow.
    """
    session = application.review.session
    freed = ReviewAssignment.objects.filter(application=application, reviewer=reviewer).first() if conflict else None
    if freed is not None:
        freed.delete()
        if freed.source == ReviewAssignment.Source.DISAGREEMENT:
            ask_one_more(application)  # the extra review, from someone else
        else:
            assign_on_arrival(application)
    elif not conflict and _session_applied(session):
        ask_one_more(application)
    transaction.on_commit(lambda: recalibrate_later(session.pk))


def recalibrate_later(session_id: int) -> None:
    """Hand the recalibration to Celery; if the broker is down, do it now (it is a few queries)."""
    from .tasks import task_recalibrate  # the tasks module imports this one

    try:
        task_recalibrate.delay(session_id)
    except Exception:  # noqa: BLE001 -- any broker failure
        logger.warning("Could not hand the recalibration of session %s to Celery; recalibrating now.", session_id)
        session = Session.objects.filter(pk=session_id, call__isnull=False).first()
        if session is not None:
            recalibrate(session)


def progress(session: Session) -> dict:
    """Per reviewer and per State: assigned, reviewed, open; a constant number of queries."""
    done = Exists(
        Assessment.objects.filter(application=OuterRef("application"), assessor=OuterRef("reviewer"), total__isnull=False)
    )
    rows = (
        ReviewAssignment.objects.filter(application__review__session=session, applied_at__isnull=False)
        .annotate(done=done)
        .values("reviewer_id", "application__review_id", "done")
        .annotate(n=Count("pk"))
    )
    by_reviewer = defaultdict(lambda: {"assigned": 0, "done": 0})
    by_state = defaultdict(lambda: {"assigned": 0, "done": 0})
    for row in rows:
        for bucket in (by_reviewer[row["reviewer_id"]], by_state[row["application__review_id"]]):
            bucket["assigned"] += row["n"]
            bucket["done"] += row["n"] if row["done"] else 0
    return {"reviewers": dict(by_reviewer), "states": dict(by_state)}


def current_assignments(user):
    """The user's applied assignments on applications they may still review (in the pool, no conflict)."""
    from .assessment import assessable_applications  # assessment imports this module

    return ReviewAssignment.objects.filter(reviewer=user, applied_at__isnull=False, application__in=assessable_applications(user))


def _email_language(profile: ReviewerProfile | None) -> str:
    """The first of the reviewer's working languages that the site speaks, else the site's language."""
    spoken = {code for code, _name in settings.LANGUAGES}
    return next((code for code in (profile.languages if profile else []) if code in spoken), settings.LANGUAGE_CODE[:2])


def remind(*, now: dt.datetime | None = None) -> int:
    """
    Every hour: repair the assignments of every session still under review (repair), then email
    each reviewer with open assignments once, when the reviews are due within two days.
    """
    now = now or timezone.now()
    sent = 0
    for session in Session.objects.filter(call__isnull=False).select_related("call"):
        due = session.call.reviews_due()
        if due < now:
            continue
        repair(session)  # never remind of an application the reviewer may no longer review; hand it on
        if due > now + REMIND_BEFORE:
            continue
        open_rows = (
            ReviewAssignment.objects.filter(
                application__review__session=session, applied_at__isnull=False, reminded_at__isnull=True
            )
            .filter(
                ~Exists(
                    Assessment.objects.filter(
                        application=OuterRef("application"), assessor=OuterRef("reviewer"), total__isnull=False
                    )
                )
            )
            .values("reviewer_id", "reviewer__email")
            .annotate(n=Count("pk"))
        )
        open_rows = list(open_rows)
        profiles = {p.user_id: p for p in ReviewerProfile.objects.filter(user__in=[row["reviewer_id"] for row in open_rows])}
        for row in open_rows:
            if not row["reviewer__email"]:
                continue
            queue_email(
                to=row["reviewer__email"],
                name="review-reminder",
                context={
                    "count": row["n"],
                    "session": session,
                    "due": due,
                    "link": absolute_url(reverse("applications:my_reviews")),
                },
                language=_email_language(profiles.get(row["reviewer_id"])),
                dedupe_key=dedupe_key("review-reminder", session.number, row["reviewer_id"]),
            )
            sent += 1
        ReviewAssignment.objects.filter(
            application__review__session=session, applied_at__isnull=False, reminded_at__isnull=True
        ).update(reminded_at=now)
    return sent


def attention(session: Session) -> dict:
    """
    What the coordinator should look at, in a constant number of queries:

    - `given`: reviews given per State, with or without an assignment (they count towards k), and
      `given_by`: per reviewer;
    - `short`: once assignments are applied, the applications with fewer than k reviewers (assigned
      or having reviewed), e.g. a late application no free reviewer could take;
    - `disagreements`: applications whose reviews disagree strongly, with their raw marks and what
      became of the extra review ("asked", "taken out" or "none free").
    """
    k = session.call.reviews_per_application
    pool = reviewable(session)
    reviews = Assessment.objects.filter(application__in=pool, conflict_of_interest=False, total__isnull=False).values_list(
        "application_id", "application__review_id", "assessor_id", "total"
    )
    given, given_by = Counter(), Counter()
    reviewers = defaultdict(set)
    marks = defaultdict(list)
    for application_id, review_id, assessor_id, total in reviews:
        given[review_id] += 1
        given_by[assessor_id] += 1
        reviewers[application_id].add(assessor_id)
        marks[application_id].append(total)
    applied = ReviewAssignment.objects.filter(application__in=pool, applied_at__isnull=False)
    extra = {}
    for application_id, reviewer_id, source in applied.values_list("application_id", "reviewer_id", "source"):
        reviewers[application_id].add(reviewer_id)
        if source == ReviewAssignment.Source.DISAGREEMENT:
            extra[application_id] = "asked"
    for application_id in ReviewExclusion.objects.filter(
        application__in=pool, source=ReviewAssignment.Source.DISAGREEMENT
    ).values_list("application_id", flat=True):
        extra.setdefault(application_id, "taken out")
    low, high = _scale(session)
    disagreeing = calibration.calibrate(
        [calibration.Mark(n, a, float(t)) for a, totals in marks.items() for n, t in enumerate(totals)], low=low, high=high
    ).disagreements
    short_ids = set()
    session_applied = _session_applied(session)
    if session_applied:
        short_ids = {pk for pk in pool.values_list("pk", flat=True) if len(reviewers.get(pk, ())) < k}
    wanted = short_ids | set(disagreeing)
    named = {a.pk: a for a in Application.objects.filter(pk__in=wanted).select_related("organisation", "review").order_by("pk")}
    return {
        "given": dict(given),
        "given_by": dict(given_by),
        "short": [{"application": named[pk], "have": len(reviewers.get(pk, ())), "k": k} for pk in sorted(short_ids)],
        "disagreements": [
            {
                "application": named[pk],
                "marks": sorted(marks[pk]),
                "spread": spread,
                "extra": extra.get(pk, "none free" if session_applied else "not applied"),
            }
            for pk, spread in sorted(disagreeing.items())
        ],
    }
