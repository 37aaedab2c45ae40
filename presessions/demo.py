"""
Demo data: the real calendar, an open call for the next session, and a staff
account, so that a newcomer sees a working site after `make run`.

Other apps add their own demo data by connecting to `demo_loaded`, which keeps
the dependency between apps pointing one way only.
"""

from __future__ import annotations

import datetime as dt
import secrets
from base64 import b32encode
from binascii import unhexlify

from django.contrib.auth import get_user_model
from django.db import transaction
from django.dispatch import Signal
from django.utils import timezone
from django_otp.oath import totp
from django_otp.plugins.otp_totp.models import TOTPDevice
from two_factor.utils import get_otpauth_url

from .enums import CalendarStatus
from .importers import load_calendar, load_geneva_calendar, load_themes
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

    Side effects, in order: the calendar (with the Council's sessions and the
    dates of past series) and themes, estimated dates for the
    next session if it has none, an open call for it, a staff superuser whose
    password is reset to a new random one, then `demo_loaded` for other apps.
    """
    now = now or timezone.now()
    today = timezone.localdate(now)
    load_calendar(today=today)
    load_geneva_calendar()
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
    return {"username": DEMO_USERNAME, "password": password, "session": session, "secret": demo_second_factor(user)}


DEMO_DEVICE_NAME = "default"  # the name django-two-factor-auth asks for at login


def demo_second_factor(user) -> str:
    """
    Give a demo staff account an authenticator (TOTP) if it has none; return its secret in base32.

    Staff must sign in with a second factor. On a demo machine, `python manage.py totp <username>`
    prints the current code, or the secret can be added to any authenticator app.
    """
    device = TOTPDevice.objects.filter(user=user, name=DEMO_DEVICE_NAME).first()
    if device is None:
        device = TOTPDevice.objects.create(user=user, name=DEMO_DEVICE_NAME, confirmed=True)
    return b32encode(unhexlify(device.key)).decode()


def demo_otpauth_url(user, secret: str) -> str:
    return get_otpauth_url(user.get_username(), secret, "UPR Info Pre-sessions (demo)")


def current_code(user) -> str:
    """The code a staff member's first confirmed authenticator shows now."""
    device = TOTPDevice.objects.filter(user=user, confirmed=True).order_by("pk").first()
    if device is None:
        raise TOTPDevice.DoesNotExist(f"{user.get_username()} has no authenticator")
    code = totp(device.bin_key, step=device.step, t0=device.t0, digits=device.digits, drift=device.drift)
    return str(code).zfill(device.digits)
