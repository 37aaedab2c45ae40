"""
The one-day training of a series: its date, time and place (TrainingDay, editable), the invitation
to confirmed speakers who said they would come, the roster, and who came, recorded on the day.
"""

from __future__ import annotations

import datetime as dt

from django.db import transaction
from django.utils import timezone

from applications.tokens import make_token
from outbox.delivery import queue_email
from outbox.links import absolute, dedupe_key

from .enums import MemberRole
from .models import PanelMember, TrainingDay


def roster(training: TrainingDay):
    """The confirmed speakers of the session, those who said they would come first, by State and name."""
    return (
        PanelMember.objects.filter(
            panel__review__session=training.session_id,
            role=MemberRole.SPEAKER,
            confirmed_at__isnull=False,
            declined_at__isnull=True,
            application__erased_at__isnull=True,
        )
        .select_related("application__organisation", "panel__review")
        .order_by("-attends_training", "panel__review__order", "position")
    )


@transaction.atomic
def invite(training: TrainingDay, *, now: dt.datetime | None = None) -> int:
    """Email the invitation to every confirmed speaker who said they would come and was not invited yet; return how many."""
    from outbox.models import Email

    count = 0
    # Remote speakers take part from home: the training is in Geneva.
    for member in roster(training).filter(attends_training=True).exclude(application__attendance="remote"):
        application = member.application
        key = dedupe_key("training-invitation", training.pk, member.pk)
        if Email.objects.filter(dedupe_key=key).exists():
            continue
        queue_email(
            to=application.speaker_email or application.email,
            name="training-invitation",
            context={
                "training": training,
                "session": training.session,
                "review": member.panel.review,
                "link": absolute("panels:participation", make_token(application)),
            },
            language=application.language,
            dedupe_key=key,
            related=application,
        )
        count += 1
    TrainingDay.objects.filter(pk=training.pk).update(invited_at=now or timezone.now())
    return count


class TooEarly(ValueError):
    """Attendance is recorded from the training's day on."""


def record_attendance(training: TrainingDay, came: set[int], *, now: dt.datetime | None = None) -> None:
    """On the day (or after): the roster's members in `came` came; the others did not."""
    if timezone.localdate(now or timezone.now()) < training.date:
        raise TooEarly
    members = roster(training)
    members.filter(pk__in=came).update(attended_training=True)
    members.exclude(pk__in=came).update(attended_training=False)
