import datetime as dt
import json
import re

import pytest
from django.core import mail
from django.db import connection
from django.test.utils import CaptureQueriesContext
from icalendar import Calendar

from applications.models import Application
from outbox.models import Email
from panels import domain, publishing
from panels.models import ScheduleRelease, ScheduleSubscription
from presessions.models import StateReview, Theme
from tests.factories import confirm_speakers, finalise, login_staff, make_application

pytestmark = pytest.mark.django_db


def _pool(review, names):
    themes = list(Theme.objects.order_by("pk")[:6])
    apps = []
    for i, (name, gender, publication) in enumerate(names):
        app = make_application(review, name=name, gender=gender, themes=[themes[i % 6]])
        Application.objects.filter(pk=app.pk).update(score_mean=9 - i, publication=publication, speaker_name=f"Speaker {name}")
        apps.append(app)
    return apps


@pytest.fixture
def week(open_session, kenya, turkiye):
    ke = _pool(
        kenya,
        [
            ("Nairobi Rights", "woman", "name_and_organisation"),
            ("Hidden Kenyan", "man", "nothing"),
            ("Mombasa Forum", "woman", "organisation"),
        ],
    )
    tr = _pool(turkiye, [("Ankara Voice", "man", "organisation"), ("Izmir Women", "woman", "name_and_organisation")])
    panels = [domain.compose_panel(review) for review in (kenya, turkiye)]
    for panel in panels:
        finalise(panel)
    confirm_speakers(*panels)
    publishing.build_schedule(open_session)
    return {"session": open_session, "ke": ke, "tr": tr}


def test_publishing_shows_the_release_not_later_draft_edits(client, week, kenya):
    session = week["session"]
    assert "Schedule not published yet" in client.get("/sessions/60/schedule/").content.decode()
    publishing.publish(session, name="v1")
    body = client.get("/sessions/60/schedule/").content.decode()
    first_start = re.search(r"(\d\d:\d\d)–\d\d:\d\d</td>\s*<th scope=\"row\"><a href=\"/sessions/60/schedule/ke/\">", body).group(
        1
    )
    day = StateReview.objects.get(pk=kenya.pk).meeting_date
    publishing.move_meeting(kenya, starts_at=dt.datetime.combine(day, dt.time(12, 0)).astimezone(), room="Room XX")
    assert first_start in client.get("/sessions/60/schedule/").content.decode()  # the draft move is not public
    assert "Room XX" not in client.get("/sessions/60/schedule/").content.decode()


def test_consent_rules_what_is_public_in_html_ics_and_json(client, week):
    publishing.publish(week["session"])
    html = client.get("/sessions/60/schedule/").content.decode() + client.get("/sessions/60/schedule/ke/").content.decode()
    ics = client.get("/sessions/60/schedule.ics").content.decode()
    data = client.get("/sessions/60/schedule.json").content.decode()
    for text in (html, ics, data):
        assert "Hidden Kenyan" not in text and "Speaker Hidden Kenyan" not in text  # consented to nothing
        assert "Speaker Mombasa Forum" not in text  # consented to the organisation only
    assert "Speaker Nairobi Rights, Nairobi Rights" in html and "Mombasa Forum" in html
    assert "a national CSO" in html
    for app in Application.objects.all():
        assert app.email not in html + ics + data


def test_ics_parses_with_stable_uids_and_geneva_times(client, week, kenya):
    publishing.publish(week["session"])
    first = Calendar.from_ical(client.get("/sessions/60/schedule.ics").content)
    events = {str(e["uid"]): e for e in first.walk("VEVENT")}
    assert sorted(events) == ["presession-60-ke@upr-info.org", "presession-60-tr@upr-info.org"]
    event = events["presession-60-ke@upr-info.org"]
    start = event.decoded("dtstart")
    assert str(start.tzinfo) == "Europe/Zurich" and start.time() == dt.time(10, 0)
    assert start.astimezone(dt.UTC).hour in (8, 9)  # 10:00 in Geneva is 09:00 UTC in winter, 08:00 in summer
    assert first.walk("VTIMEZONE")
    day = StateReview.objects.get(pk=kenya.pk).meeting_date
    publishing.move_meeting(
        kenya, starts_at=dt.datetime.combine(day + dt.timedelta(days=1), dt.time(11, 0)).astimezone(), room="Room XX"
    )
    publishing.publish(week["session"])
    second = Calendar.from_ical(client.get("/sessions/60/schedule.ics").content)
    moved = {str(e["uid"]): e for e in second.walk("VEVENT")}["presession-60-ke@upr-info.org"]
    assert int(moved["sequence"]) == 2
    assert moved.decoded("dtstart").time() == dt.time(11, 0)


def test_json_has_the_documented_shape(client, week):
    publishing.publish(week["session"])
    data = json.loads(client.get("/sessions/60/schedule.json").content)
    assert set(data) >= {"version", "release", "published_at", "session", "format", "timezone", "days"}
    assert data["timezone"] == "Europe/Zurich" and data["session"] == 60
    meeting = data["days"][0]["meetings"][0]
    assert set(meeting) >= {"iso2", "state_name", "start", "end", "room", "speakers", "agenda"}
    assert {"position", "organisation", "name", "kind", "scope", "statement"} == set(meeting["speakers"][0])
    assert [item["kind"] for item in meeting["agenda"]][:2] == ["opening", "state"] and meeting["agenda"][-1]["kind"] == "closing"


def test_a_repeated_request_gets_304(client, week):
    publishing.publish(week["session"])
    for url in ["/sessions/60/schedule/", "/sessions/60/schedule.ics", "/sessions/60/schedule.json", "/sessions/60/schedule/ke/"]:
        first = client.get(url)
        assert first.status_code == 200 and first["ETag"]
        again = client.get(url, HTTP_IF_NONE_MATCH=first["ETag"])
        assert again.status_code == 304, url
        head = client.head(url, HTTP_IF_NONE_MATCH=first["ETag"])  # curl -I
        assert head.status_code == 304, url
        # No date to revalidate by: a speaker who leaves changes the page without a new release.
        assert not first.has_header("Last-Modified")
        assert client.get(url, HTTP_IF_MODIFIED_SINCE="Fri, 01 Jan 2100 00:00:00 GMT").status_code == 200, url


def test_a_new_release_lists_its_changes_and_emails_each_subscriber_once(client, week, kenya, django_capture_on_commit_callbacks):
    session = week["session"]
    publishing.publish(session, name="v1")
    with django_capture_on_commit_callbacks(execute=True):
        client.post("/sessions/60/schedule/subscribe/", {"email": "Mission@Example.org"})
    confirm = re.search(r"/schedule-alerts/\S+/confirm/", mail.outbox[-1].body).group(0)
    client.post(confirm)
    assert ScheduleSubscription.objects.get().confirmed_at is not None
    day = StateReview.objects.get(pk=kenya.pk).meeting_date
    publishing.move_meeting(kenya, starts_at=dt.datetime.combine(day, dt.time(12, 0)).astimezone(), room="Room XX")
    with django_capture_on_commit_callbacks(execute=True):
        release = publishing.publish(session, name="v2")
    assert {c["what"] for c in release.changes} >= {"time", "room"}
    page = client.get("/sessions/60/schedule/changes/").content.decode()
    assert "Version v2" in page and "room changed from" in page
    updates = Email.objects.filter(kind="schedule-updated")
    assert updates.filter(to="mission@example.org").count() == 1
    assert updates.count() == 1 + Application.objects.filter(status="selected").count()
    assert "List-Unsubscribe" in updates.get(to="mission@example.org").headers


def test_serving_the_schedule_costs_the_same_queries_for_a_small_or_a_full_week(client, week, open_session):
    publishing.publish(open_session)

    def count(url):
        from django.core.cache import cache

        cache.clear()
        with CaptureQueriesContext(connection) as ctx:
            client.get(url)
        return len(ctx.captured_queries)

    small = count("/sessions/60/schedule/")
    for code in ["FR", "DE", "BR", "IN", "JP", "MX", "NG", "PE"]:
        review = StateReview.objects.create(session=open_session, country=code, order=10)
        make_application(review, name=f"Org {code}")
    publishing.build_schedule(open_session)
    publishing.publish(open_session)
    assert count("/sessions/60/schedule/") == small <= 3


def test_the_staff_schedule_page_builds_moves_and_publishes(client, cast, week, kenya):
    login_staff(client, cast.coordinator)
    assert client.get("/staff/sessions/60/schedule/").status_code == 200
    client.post("/staff/sessions/60/schedule/", {"action": "build"})
    day = StateReview.objects.get(pk=kenya.pk).meeting_date or week["session"].timeline.presessions_start
    client.post(
        "/staff/sessions/60/schedule/",
        {"action": "move", "review": kenya.pk, "date": day.isoformat(), "time": "11:30", "room": "Room XVII"},
    )
    bad = client.post(
        "/staff/sessions/60/schedule/", {"action": "move", "review": kenya.pk, "date": "tomorrow", "time": "x"}, follow=True
    )
    assert "Enter the date as YYYY-MM-DD" in bad.content.decode()
    client.post("/staff/sessions/60/schedule/", {"action": "publish", "name": "first"})
    assert ScheduleRelease.objects.get().name == "first"
    assert "Room XVII" in client.get("/sessions/60/schedule/").content.decode()
    login_staff(client, cast.alice)
    assert client.get("/staff/sessions/60/schedule/").status_code == 403


def test_subscribing_is_rate_limited_like_the_other_forms(client, open_session, settings):
    settings.APPLICATION_RATELIMIT = "3/m"
    statuses = [
        client.post("/sessions/60/schedule/subscribe/", {"email": f"victim+{i}@example.org"}).status_code for i in range(5)
    ]
    assert statuses == [200, 200, 200, 429, 429]
    assert ScheduleSubscription.objects.count() == 3


def test_a_visitor_s_message_or_query_string_never_enters_the_kept_schedule(client, week, rf):
    """What an attack found: the first visitor to build a schedule page could bake their message or query into everyone's copy."""
    from django.contrib.messages import constants
    from django.contrib.messages.storage.base import Message
    from django.contrib.messages.storage.cookie import CookieStorage
    from django.test import Client

    publishing.publish(week["session"])
    storage = CookieStorage(rf.get("/"))
    messaged = Client()
    messaged.cookies["messages"] = storage._encode([Message(constants.INFO, "Note for one visitor only")])
    assert "Note for one visitor only" in messaged.get("/sessions/60/schedule/ke/").content.decode()
    client.get("/sessions/60/schedule/?utm_source=ATTACKER")
    client.get("/sessions/0060/schedule/")
    for path in ("/sessions/60/schedule/ke/", "/sessions/60/schedule/"):
        for _n in range(2):
            page = Client().get(path).content.decode()
            assert "Note for one visitor only" not in page and "ATTACKER" not in page and "0060" not in page
