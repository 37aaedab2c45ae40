"""
Issue 18: a fresh `make run` shows what a permanent mission sees. The demo runs the latest session
whose Pre-sessions are over from call to record, through the functions staff use, so its schedule,
meeting pages, ICS and JSON feeds and changes page all work.
"""

import datetime as dt
import json
import zoneinfo

import pytest
from icalendar import Calendar

from panels.demo import past_session
from panels.models import PanelMember, ScheduleRelease
from presessions.demo import load_demo

pytestmark = pytest.mark.django_db


@pytest.fixture(scope="module")
def demo(django_db_setup, django_db_blocker):
    """The demo, loaded once for this module's tests (they only read)."""
    with django_db_blocker.unblock():
        from django.db import transaction
        from django.test import override_settings

        with override_settings(DEMO_PAST_SESSION=True), transaction.atomic():
            load_demo(seed=11)
            past = past_session(dt.date.today())
            yield past
            transaction.set_rollback(True)


def test_the_demo_has_a_past_session_with_two_releases_and_confirmed_speakers(demo):
    assert demo is not None and demo.timeline.presessions_end < dt.date.today()
    releases = list(ScheduleRelease.objects.filter(session=demo).order_by("number"))
    assert [r.name for r in releases] == ["v1", "v2"] and releases[1].changes
    speakers = PanelMember.objects.filter(panel__review__session=demo, role="speaker")
    assert speakers.exists() and not speakers.filter(confirmed_at__isnull=True).exists()
    assert speakers.filter(statement_public=True).exists()
    from panels import attendance

    rows = attendance.by_meeting(demo)
    assert sum(row.expected_missions for row in rows) > 0 and sum(row.came_missions for row in rows) > 0


def test_every_page_a_mission_uses_answers_for_the_past_session(client, demo):
    number = demo.number
    week = client.get(f"/sessions/{number}/schedule/")
    assert week.status_code == 200
    page = week.content.decode()
    assert "Room XXIV" in page
    assert "tell us which meetings you will attend" not in page  # the week is over: nothing to answer for

    calendar = Calendar.from_ical(client.get(f"/sessions/{number}/schedule.ics").content)
    events = list(calendar.walk("VEVENT"))
    zurich = zoneinfo.ZoneInfo("Europe/Zurich")
    for event in events:
        start = event.decoded("dtstart")
        assert start.tzinfo is not None
        assert start.astimezone(zurich).date() >= demo.timeline.presessions_start
    meetings = sum(len(day["meetings"]) for day in json.loads(client.get(f"/sessions/{number}/schedule.json").content)["days"])
    assert len(events) == meetings > 0

    data = json.loads(client.get(f"/sessions/{number}/schedule.json").content)
    assert data["timezone"] == "Europe/Zurich" and data["session"] == number
    iso2 = data["days"][0]["meetings"][0]["iso2"].lower()
    assert client.get(f"/sessions/{number}/schedule/{iso2}/").status_code == 200

    changes = client.get(f"/sessions/{number}/schedule/changes/").content.decode()
    assert "v1" in changes and "v2" in changes and "Room XXIV" in changes

    statement = next(
        speaker["statement"]
        for day in data["days"]
        for meeting in day["meetings"]
        for speaker in meeting["speakers"]
        if speaker.get("statement")
    )
    response = client.get(statement)
    assert response.status_code == 200 and b"".join(response.streaming_content).startswith(b"%PDF")


def test_loading_the_demo_again_leaves_the_past_session_alone(demo, settings):
    settings.DEMO_PAST_SESSION = True
    before = ScheduleRelease.objects.filter(session=demo).count()
    load_demo(seed=11)
    assert ScheduleRelease.objects.filter(session=demo).count() == before
