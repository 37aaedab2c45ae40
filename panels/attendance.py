"""
Missions in the room: which permanent missions will attend which meetings, and which came.

A mission answers without an account, on the public schedule: the meetings its delegates will
attend and how many. Nothing counts until its contact confirms by email (double opt-in), so
nobody can announce a mission that is not coming; a later confirmed answer from the same address
for the same mission replaces the earlier one, and the contact can withdraw it from the same link.
At the door, staff check missions in on a phone (registered or not); that record, not the
announcements, is what the statistics count. Speakers see only how many missions said they would
come to their meeting, never which.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

from django.db import transaction
from django.db.models import Count, Q, Sum
from django.utils import timezone

from outbox import links
from outbox.delivery import queue_email
from outbox.links import dedupe_key
from presessions.models import Session, StateReview

from .models import MissionCheckIn, MissionChoice, MissionRegistration

REGISTRATION_SALT = "panels.mission-registration"


def sign_key(key: str) -> str:
    """The token of a registration's private link (confirm, see, withdraw)."""
    return links.sign(key, REGISTRATION_SALT)


def registration_for_token(token: str) -> MissionRegistration | None:
    try:
        key = links.unsign(token, REGISTRATION_SALT)
    except links.BadLink:
        return None
    return MissionRegistration.objects.select_related("session").filter(key=key).first()


# At most this many answers an hour from one address: the form cannot be used to flood an inbox.
ANSWERS_PER_ADDRESS_PER_HOUR = 3


def mailbox(email: str) -> str:
    """The mailbox behind an address: "name+tag@domain" and "name@domain" are one."""
    local, _at, domain = email.strip().lower().rpartition("@")
    return f"{local.split('+', 1)[0]}@{domain}"


def mailbox_pattern(email: str) -> str:
    """A regular expression matching every alias of the address's mailbox."""
    local, _at, domain = mailbox(email).rpartition("@")
    return rf"^{re.escape(local)}(\+[^@]*)?@{re.escape(domain)}$"


class TooEarly(ValueError):
    """Attendance is recorded from the day of the meeting on, not before."""


def _not_before_the_day(review: StateReview, now: dt.datetime | None) -> None:
    if review.meeting_date is None or timezone.localdate(now or timezone.now()) < review.meeting_date:
        raise TooEarly


@transaction.atomic
def register(
    session: Session, *, mission: str, email: str, language: str, choices: dict[int, int], now: dt.datetime | None = None
) -> MissionRegistration | None:
    """
    Record a mission's answer, unconfirmed, and email its contact the link to confirm it; None,
    and nothing sent, when the address has given ANSWERS_PER_ADDRESS_PER_HOUR answers in the hour.

    `choices` maps the id of each meeting (a StateReview of `session`) to the number of delegates;
    meetings with none are left out. Side effects, in order: the registration and its choices; a
    confirmation email to `email`, in `language`.
    """
    email = email.strip().lower()
    now = now or timezone.now()
    # name+anything@domain is one mailbox: the limit counts its aliases together.
    recent = MissionRegistration.objects.filter(
        email__regex=mailbox_pattern(email), created_at__gte=now - dt.timedelta(hours=1)
    ).count()
    if recent >= ANSWERS_PER_ADDRESS_PER_HOUR:
        return None  # the page says the same as ever: whoever typed the address learns nothing
    registration = MissionRegistration.objects.create(session=session, mission=mission, email=email, language=language)
    reviews = set(session.reviews.filter(pk__in=list(choices)).values_list("pk", flat=True))
    MissionChoice.objects.bulk_create(
        MissionChoice(registration=registration, review_id=review, delegates=delegates)
        for review, delegates in sorted(choices.items())
        if review in reviews and delegates > 0
    )
    queue_email(
        to=registration.email,
        name="mission-registration-confirm",
        context={
            "session": session,
            "mission": registration.mission.name,
            "link": links.absolute("panels:attendance_confirm", sign_key(registration.key)),
        },
        language=language,
        dedupe_key=dedupe_key("mission-registration-confirm", registration.pk),
        related=registration,
    )
    return registration


@transaction.atomic
def confirm(registration: MissionRegistration, *, now: dt.datetime | None = None) -> MissionRegistration:
    """Count a registration (its contact opened the link); an earlier one from the same address for the same mission stops counting."""
    now = now or timezone.now()
    registration = MissionRegistration.objects.select_for_update().get(pk=registration.pk)
    if registration.confirmed_at is None and registration.withdrawn_at is None:
        # One mailbox speaks for one mission: its later answer replaces the earlier one, whichever mission it named.
        MissionRegistration.objects.filter(
            session=registration.session_id,
            email__regex=mailbox_pattern(registration.email),
            confirmed_at__isnull=False,
            withdrawn_at__isnull=True,
        ).exclude(pk=registration.pk).update(withdrawn_at=now)
        registration.confirmed_at = now
        registration.save(update_fields=["confirmed_at"])
    return registration


def answers(session: Session) -> list[MissionRegistration]:
    """The answers that count, for staff to check (who answered, from which address), with their meetings."""
    return list(
        MissionRegistration.objects.filter(session=session, confirmed_at__isnull=False, withdrawn_at__isnull=True)
        .prefetch_related("choices__review")
        .order_by("mission", "confirmed_at")
    )


def withdraw(registration: MissionRegistration, *, now: dt.datetime | None = None) -> None:
    MissionRegistration.objects.filter(pk=registration.pk, withdrawn_at__isnull=True).update(withdrawn_at=now or timezone.now())


def counting() -> Q:
    """The registrations that count: confirmed and not withdrawn (a filter on MissionChoice)."""
    return Q(registration__confirmed_at__isnull=False, registration__withdrawn_at__isnull=True)


@dataclass
class MeetingAttendance:
    review: StateReview
    expected_missions: int
    expected_delegates: int
    came_missions: int
    came_delegates: int


def by_meeting(session: Session) -> list[MeetingAttendance]:
    """Expected and recorded attendance of each meeting of a session, in meeting order. Three queries, whatever the numbers."""
    reviews = list(
        session.reviews.taking_place().filter(meeting_not_held=False).order_by("meeting_date", "meeting_start", "order")
    )
    # A mission counts once per meeting, with the most delegates any of its confirmed answers gave.
    most: dict[tuple[int, str], int] = {}
    for review, mission, delegates in MissionChoice.objects.filter(counting(), review__session=session).values_list(
        "review", "registration__mission", "delegates"
    ):
        most[(review, mission)] = max(most.get((review, mission), 0), delegates)
    expected: dict[int, dict] = {}
    for (review, _mission), delegates in most.items():
        row = expected.setdefault(review, {"missions": 0, "delegates": 0})
        row["missions"] += 1
        row["delegates"] += delegates
    came = {
        row["review"]: row
        for row in MissionCheckIn.objects.filter(review__session=session)
        .values("review")
        .annotate(missions=Count("pk"), delegates=Sum("delegates"))
    }
    return [
        MeetingAttendance(
            review,
            expected.get(review.pk, {}).get("missions", 0),
            expected.get(review.pk, {}).get("delegates", 0) or 0,
            came.get(review.pk, {}).get("missions", 0),
            came.get(review.pk, {}).get("delegates", 0) or 0,
        )
        for review in reviews
    ]


def expected_missions(review: StateReview) -> int:
    """How many missions said they would come to this meeting (what a speaker may know)."""
    return MissionChoice.objects.filter(counting(), review=review).values("registration__mission").distinct().count()


@dataclass
class DoorRow:
    """One mission on a meeting's check-in page: announced, came, or both."""

    mission: str
    name: str
    expected_delegates: int
    came: MissionCheckIn | None


def door_list(review: StateReview) -> list[DoorRow]:
    """The missions announced for a meeting, and those that came without announcing, by name."""
    from django_countries import countries

    expected: dict[str, int] = {}
    for mission, delegates in MissionChoice.objects.filter(counting(), review=review).values_list(
        "registration__mission", "delegates"
    ):
        expected[mission] = max(expected.get(mission, 0), delegates)
    came = {check.mission.code: check for check in MissionCheckIn.objects.filter(review=review)}
    rows = [
        DoorRow(code, str(dict(countries).get(code, code)), expected.get(code, 0), came.get(code))
        for code in set(expected) | set(came)
    ]
    return sorted(rows, key=lambda row: row.name)


@transaction.atomic
def check_in(review: StateReview, *, mission: str, delegates: int, by=None, now: dt.datetime | None = None) -> MissionCheckIn:
    """Record that a mission came to a meeting (again: the number of delegates is updated)."""
    _not_before_the_day(review, now)
    registered = MissionChoice.objects.filter(counting(), review=review, registration__mission=mission).exists()
    check, _created = MissionCheckIn.objects.update_or_create(
        review=review,
        mission=mission,
        defaults={"delegates": delegates, "registered": registered, "checked_in_by": by, "checked_in_at": now or timezone.now()},
    )
    return check


def undo_check_in(review: StateReview, *, mission: str) -> None:
    MissionCheckIn.objects.filter(review=review, mission=mission).delete()


def record_state_statement(review: StateReview, *, taken: bool, by=None, now: dt.datetime | None = None) -> None:
    """Record whether the State under Review took its statement at the meeting."""
    _not_before_the_day(review, now)
    from .models import MeetingRecord

    MeetingRecord.objects.update_or_create(
        review=review, defaults={"state_statement_taken": taken, "recorded_by": by, "recorded_at": now or timezone.now()}
    )
