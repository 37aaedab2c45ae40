import datetime as dt

import pytest

from presessions.enums import CalendarStatus, ReviewStatus
from presessions.importers import load_calendar, load_geneva_calendar, load_themes, parse_expected_month
from presessions.models import Call, CouncilSession, Session, StateReview, Theme, call_close_moment, call_open_moment

pytestmark = pytest.mark.django_db
TODAY = dt.date(2026, 11, 29)


def _snapshot():
    return (
        list(Session.objects.values_list("number", "start_date", "end_date", "expected_month", "calendar_status", "notes")),
        list(StateReview.objects.values_list("session__number", "country", "order", "status", "rescheduled_to__number")),
    )


def test_load_calendar_imports_the_whole_cycle():
    counts = load_calendar(today=TODAY)
    assert counts["session created"] == 14
    assert counts["statereview created"] == 193
    # 193 reviews of 192 States (the USA twice); Ukraine, the 193rd, has no known date.
    assert StateReview.objects.values("country").distinct().count() == 192
    assert list(Session.objects.values_list("number", flat=True)) == list(range(41, 55))


def test_load_calendar_twice_changes_nothing():
    load_calendar(today=TODAY)
    before = _snapshot()
    counts = load_calendar(today=TODAY)
    assert _snapshot() == before
    assert counts == {"cycle unchanged": 1, "session unchanged": 14, "statereview unchanged": 193}


def test_load_calendar_keeps_staff_edits_unless_overwriting():
    load_calendar(today=TODAY)
    Session.objects.filter(number=54).update(start_date=dt.date(2027, 1, 25))
    counts = load_calendar(today=TODAY)
    assert counts["session kept (edited)"] == 1
    assert Session.objects.get(number=54).start_date == dt.date(2027, 1, 25)
    load_calendar(today=TODAY, overwrite=True)
    assert Session.objects.get(number=54).start_date is None


def test_load_calendar_models_the_anomalies():
    load_calendar(today=TODAY)
    usa_50 = StateReview.objects.get(session__number=50, country="US")
    assert usa_50.status == ReviewStatus.NON_COOPERATION
    assert usa_50.rescheduled_to.number == 53
    assert StateReview.objects.get(session__number=53, country="US").status == ReviewStatus.SCHEDULED
    assert StateReview.objects.get(session__number=41, country="BH").status == ReviewStatus.REVIEWED
    s54 = Session.objects.get(number=54)
    assert (s54.start_date, s54.expected_month, s54.calendar_status) == (None, dt.date(2027, 1, 1), CalendarStatus.INFERRED)
    assert not StateReview.objects.filter(country="UA").exists()


def test_load_calendar_keeps_the_order_of_review():
    load_calendar(today=TODAY)
    codes = list(StateReview.objects.filter(session__number=41).values_list("country", flat=True)[:3])
    assert codes == ["BH", "EC", "TN"]


def test_load_geneva_calendar_gives_series_46_its_real_dates():
    load_calendar(today=TODAY)
    counts = load_geneva_calendar()
    # Series 21-40 belong to earlier cycles, whose sessions are not in the calendar.
    assert counts == {"councilsession created": 6, "series not in the calendar": 7, "series dates filled": 1, "call created": 1}
    s46 = Session.objects.get(number=46)
    assert (s46.presessions_start, s46.presessions_end) == (dt.date(2024, 2, 13), dt.date(2024, 2, 16))
    call = Call.objects.get(session=s46)
    assert (call.opens_at, call.closes_at) == (call_open_moment(dt.date(2023, 11, 17)), call_close_moment(dt.date(2023, 12, 6)))
    assert CouncilSession.objects.get(number=55).end_date == dt.date(2024, 4, 5)


def test_load_geneva_calendar_twice_changes_nothing():
    load_calendar(today=TODAY)
    load_geneva_calendar()
    counts = load_geneva_calendar()
    assert counts == {
        "councilsession unchanged": 6,
        "series not in the calendar": 7,
        "series dates unchanged": 1,
        "call unchanged": 1,
    }


def test_load_geneva_calendar_keeps_staff_edits_unless_overwriting():
    load_calendar(today=TODAY)
    load_geneva_calendar()
    Session.objects.filter(number=46).update(presessions_start=dt.date(2024, 2, 20), presessions_end=dt.date(2024, 2, 23))
    CouncilSession.objects.filter(number=61).update(end_date=dt.date(2026, 4, 2))
    counts = load_geneva_calendar()
    assert (counts["series dates kept (edited)"], counts["councilsession kept (edited)"]) == (1, 1)
    assert Session.objects.get(number=46).presessions_start == dt.date(2024, 2, 20)
    load_geneva_calendar(overwrite=True)
    assert Session.objects.get(number=46).presessions_start == dt.date(2024, 2, 13)
    assert CouncilSession.objects.get(number=61).end_date == dt.date(2026, 3, 31)


def test_load_geneva_calendar_fills_dates_into_a_calendar_loaded_before_it_existed():
    load_calendar(today=TODAY)
    load_geneva_calendar()
    Session.objects.filter(number=46).update(presessions_start=None, presessions_end=None)
    Call.objects.filter(session__number=46).delete()
    counts = load_geneva_calendar()
    assert (counts["series dates filled"], counts["call created"]) == (1, 1)


def test_timelines_keep_clear_of_the_council_sessions_on_record():
    load_calendar(today=TODAY)
    # WG 49 starts on 28 April 2025; with no Council session on record the week is 5 weeks before.
    assert Session.objects.get(number=49).timeline.presessions_start == dt.date(2025, 3, 25)
    load_geneva_calendar()
    # Inside HRC58 (24 February - 4 April 2025): moved before it, and before the week ahead of it.
    assert Session.objects.get(number=49).timeline.presessions_start == dt.date(2025, 2, 11)
    CouncilSession.objects.filter(number=58).delete()
    assert Session.objects.get(number=49).timeline.presessions_start == dt.date(2025, 3, 25)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2026 April-May", dt.date(2026, 4, 1)),
        ("2026 October-November (UNCERTAIN)", dt.date(2026, 10, 1)),
        ("2027 January-February", dt.date(2027, 1, 1)),
        ("sometime", None),
        (None, None),
    ],
)
def test_parse_expected_month(text, expected):
    assert parse_expected_month(text) == expected


def test_load_themes_twice():
    assert load_themes()["theme created"] == 54
    assert load_themes() == {"theme unchanged": 54}
    assert Theme.objects.filter(label="Women's rights").exists()
