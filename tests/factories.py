"""Small builders for test data, with no surprises: every value is visible in the call."""

import datetime as dt

from django.utils import timezone

from presessions.models import Call, Cycle, Session, StateReview, call_close_moment, call_open_moment


def make_cycle(number=4):
    return Cycle.objects.get_or_create(number=number)[0]


def make_session(number=60, start=dt.date(2027, 5, 3), states=("KE", "FR"), **fields):
    session = Session.objects.create(
        number=number,
        cycle=make_cycle(),
        start_date=start,
        end_date=start + dt.timedelta(days=11) if start else None,
        **fields,
    )
    for order, code in enumerate(states, start=1):
        StateReview.objects.create(session=session, country=code, order=order)
    return session


def make_open_call(session, *, days_left=10):
    today = timezone.localdate()
    return Call.objects.create(
        session=session,
        opens_at=call_open_moment(today - dt.timedelta(days=5)),
        closes_at=call_close_moment(today + dt.timedelta(days=days_left)),
    )
