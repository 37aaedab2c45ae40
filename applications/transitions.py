"""
The one way an application's status changes.

Every change, from the applicant's own withdrawal to a coordinator's decision, goes through
change_status(): it refuses a move the flow does not allow, records who made it and why in the
application's history, and rebuilds what depends on the status (a decision email drafted for an
earlier status is discarded; the public pages are served afresh once the change commits). The
admin shows the status read-only.

Drafting the email for a new decision needs the panel, so it is done by panels.domain, which
calls this function first.
"""

from __future__ import annotations

from django.contrib.contenttypes.models import ContentType
from django.db import transaction
from django.db.models import QuerySet

from outbox.enums import EmailStatus
from outbox.models import Email
from presessions.caching import bump_on_commit

from .enums import ApplicationStatus, Screening, decision_email_kind
from .models import Application

S = ApplicationStatus

# From each status, the statuses it may move to. A decision (selected, reserve, not selected) may
# change while panels are reopened and finalised again; a decline is final.
ALLOWED: dict[str, frozenset[str]] = {
    S.DRAFT: frozenset({S.SUBMITTED, S.WITHDRAWN}),
    S.SUBMITTED: frozenset({S.WITHDRAWN, S.SELECTED, S.RESERVE, S.NOT_SELECTED}),
    S.WITHDRAWN: frozenset({S.DRAFT}),
    S.SELECTED: frozenset({S.RESERVE, S.NOT_SELECTED, S.DECLINED}),
    S.RESERVE: frozenset({S.SELECTED, S.NOT_SELECTED, S.DECLINED}),
    S.NOT_SELECTED: frozenset({S.SELECTED, S.RESERVE}),
    S.DECLINED: frozenset(),
}


class TransitionNotAllowed(ValueError):
    def __init__(self, application: Application, new: str):
        super().__init__(f"application {application.pk}: {application.status} -> {new} is not allowed")
        self.application, self.new = application, new


def decision_emails(application: Application) -> QuerySet[Email]:
    return Email.objects.filter(
        content_type=ContentType.objects.get_for_model(Application), object_id=application.pk, kind__startswith="decision-"
    )


def discard_stale_decisions(application: Application) -> int:
    """Discard the unsent decision emails that no longer match the application's status; return how many."""
    pending = decision_emails(application).filter(status__in=EmailStatus.pending_states())
    if application.status in ApplicationStatus.told_states():
        pending = pending.exclude(kind=decision_email_kind(application.status))
    return pending.update(status=EmailStatus.DISCARDED)


def change_status(application: Application, new: str, *, by=None, reason: str = "", fields: tuple[str, ...] = ()) -> bool:
    """
    Move `application` to status `new`; return False if it already had it.

    Side effects, in order: the status (and any of `fields` the caller set) is saved, with `by`
    and `reason` in its history; unsent decision emails for another status are discarded; the
    public pages are refreshed once the transaction commits. Raise TransitionNotAllowed, before
    anything is saved, for a move the flow does not allow. Call it inside a transaction, with
    the application's row locked when two requests could race.
    """
    if application.status == new:
        return False
    if new not in ALLOWED[application.status]:
        raise TransitionNotAllowed(application, new)
    application.status = new
    if by is not None:
        application._history_user = by
    application._change_reason = reason[:100] or f"status: {new}"
    application.save(update_fields=["status", "updated_at", *fields])
    discard_stale_decisions(application)
    bump_on_commit()
    if new == ApplicationStatus.SUBMITTED and application.screening == Screening.ELIGIBLE:
        # Back in the review pool (withdrawn, reopened, sent again): reviewers as for a late arrival.
        from . import reviewing  # reviewing reaches the assessment rules, which use this module

        transaction.on_commit(lambda: reviewing.assign_on_arrival(Application.objects.get(pk=application.pk)))
    return True
