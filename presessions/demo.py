"""
Demo data: the real calendar, an open call for the next session, and a staff
account, so that a newcomer sees a working site after `make run`.

Other apps add their own demo data by connecting to `demo_loaded`, which keeps
the dependency between apps pointing one way only.
"""

from __future__ import annotations

import datetime as dt
import secrets

from django.contrib.auth import get_user_model
from django.db import transaction
from django.dispatch import Signal
from django.utils import timezone

from .enums import CalendarStatus
from .importers import load_calendar, load_themes
from .models import Call, Cycle, Session, call_close_moment, call_open_moment

# Sent with session=<the demo session>, seed=<int>, stdout=<writer>.
demo_loaded = Signal()

DEMO_USERNAME = "coordinator"
CALL_OPENED_DAYS_AGO = 7
CALL_CLOSES_IN_DAYS = 14
WEEKS_AHEAD_FOR_ESTIMATED_SESSION = 10


def next_session(today: dt.date) -> Session:
    """
    Return the first session whose Working Group is still to come.

    When that session has no confirmed dates (or no session is left in the
    calendar), give it estimated dates, clearly marked as inferred, about ten
    weeks ahead, so that the demo timeline has a call open today.
    """
    session = (
        Session.objects.filter(start_date__gt=today).order_by("number").first()
        or Session.objects.filter(start_date__isnull=True, expected_month__gte=today.replace(day=1)).order_by("number").first()
    )
    if session is None:
        last = Session.objects.order_by("-number").first()
        cycle, _ = Cycle.objects.get_or_create(number=(last.cycle.number + 1) if last else 4)
        session = Session.objects.create(
            number=(last.number + 1) if last else 1,
            cycle=cycle,
            calendar_status=CalendarStatus.INFERRED,
            notes="Created by the demo: no later session is in the calendar.",
        )
    if session.start_date is None:
        start = today + dt.timedelta(weeks=WEEKS_AHEAD_FOR_ESTIMATED_SESSION)
        start += dt.timedelta(days=(7 - start.weekday()) % 7)  # the next Monday
        session.start_date = start
        session.end_date = start + dt.timedelta(days=11)
        session.calendar_status = CalendarStatus.INFERRED
        session.notes = (session.notes + "\n" if session.notes else "") + "Demo: dates estimated, not announced."
        session.save()
    return session


@transaction.atomic
def load_demo(*, seed: int = 2012, now: dt.datetime | None = None, stdout=None) -> dict:
    """
    Load the demo data and return the staff credentials.

    Side effects, in order: the calendar and themes, estimated dates for the
    next session if it has none, an open call for it, a staff superuser whose
    password is reset to a new random one, then `demo_loaded` for other apps.
    """
    now = now or timezone.now()
    today = timezone.localdate(now)
    load_calendar(today=today)
    load_themes()
    session = next_session(today)
    Call.objects.update_or_create(
        session=session,
        defaults={
            "opens_at": call_open_moment(today - dt.timedelta(days=CALL_OPENED_DAYS_AGO)),
            "closes_at": call_close_moment(today + dt.timedelta(days=CALL_CLOSES_IN_DAYS)),
        },
    )
    user_model = get_user_model()
    user, _ = user_model.objects.get_or_create(
        username=DEMO_USERNAME, defaults={"email": "coordinator@example.org", "first_name": "Demo", "last_name": "Coordinator"}
    )
    password = secrets.token_urlsafe(12)
    user.is_staff = user.is_superuser = True
    user.set_password(password)
    user.save()
    session.refresh_from_db()
    demo_loaded.send(sender=Session, session=session, seed=seed, stdout=stdout)
    return {"username": DEMO_USERNAME, "password": password, "session": session}
