"""
A week that fits: building the week makes room for every State's meeting, publishing refuses a
draft with problems unless a coordinator gives a reason, and problems are told in words.
"""

import datetime as dt

import pytest
from django.contrib.admin.models import LogEntry
from django.core.exceptions import PermissionDenied
from django.utils import timezone

from panels import publishing
from panels.models import MeetingPlacement, ScheduleDay, ScheduleRelease
from presessions.models import StateReview
from tests.factories import login_staff

pytestmark = pytest.mark.django_db

MORE_STATES = ["FR", "DE", "BR", "IN", "JP", "MX", "NG", "PE", "AR", "CL", "GH", "NP", "UY", "VN", "ZA"]
URL = "/staff/sessions/60/schedule/"


def _states(session, count):
    """Give `session` `count` States under Review in all (it has Kenya and Türkiye)."""
    for order, code in enumerate(MORE_STATES[: count - 2], start=3):
        StateReview.objects.create(session=session, country=code, order=order)


def _place(review, day, hh, mm=0):
    """Place `review`'s meeting by hand, as the staff page's "Move" does."""
    tz = timezone.get_default_timezone()
    return publishing.move_meeting(review, starts_at=timezone.make_aware(dt.datetime.combine(day, dt.time(hh, mm)), tz))


@pytest.fixture
def clash(open_session, kenya, turkiye):
    """A draft with two problems placed by hand: Kenya runs past the morning, Türkiye overlaps it."""
    publishing.build_schedule(open_session)
    tuesday = open_session.timeline.presessions_start
    _place(kenya, tuesday, 12, 30)
    _place(turkiye, tuesday, 12, 45)
    return open_session


def test_a_13_state_session_with_default_rules_places_every_state(open_session):
    _states(open_session, 13)
    result = publishing.build_schedule(open_session)
    assert result.unplaced == [] and result.conflicts == []
    placed = MeetingPlacement.objects.filter(review__session=open_session, starts_at__isnull=False).count()
    assert placed == 13
    days = list(ScheduleDay.objects.filter(session=open_session).values_list("date", "start", "end"))
    tuesday = open_session.timeline.presessions_start
    assert days == [(tuesday + dt.timedelta(days=i), dt.time(10), dt.time(14)) for i in range(4)]
    assert publishing.describe_week_changes(result) == ["The mornings end at 14:00 instead of 13:00."]
    assert publishing.draft_problems(open_session) == []


def test_a_week_too_full_for_longer_mornings_gains_the_monday(open_session):
    _states(open_session, 17)
    result = publishing.build_schedule(open_session)
    assert result.unplaced == []
    monday = open_session.timeline.presessions_start - dt.timedelta(days=1)
    assert ScheduleDay.objects.filter(session=open_session).order_by("date").values_list("date", flat=True)[0] == monday
    assert publishing.describe_week_changes(result) == [
        "The mornings end at 14:00 instead of 13:00.",
        f"One more morning: Monday {monday.day} {monday:%B} (10:00–14:00).",
    ]


def test_planning_the_week_writes_nothing(open_session):
    _states(open_session, 13)
    plan = publishing.plan_week(open_session)
    assert plan.unplaced == [] and len(plan.lengthened) == 4
    assert ScheduleDay.objects.filter(session=open_session).count() == 0
    assert MeetingPlacement.objects.count() == 0


def test_problems_are_told_in_words_naming_the_states(clash):
    assert publishing.draft_problems(clash) == [
        f"The meeting on Kenya ({_day(clash)}, 12:30–13:20) is outside the hours of the mornings.",
        f"The meeting on Türkiye ({_day(clash)}, 12:45–13:35) is outside the hours of the mornings.",
        f"The meetings on Kenya and Türkiye overlap ({_day(clash)}, 12:30–13:20).",
    ]


def _day(session):
    tuesday = session.timeline.presessions_start
    return f"Tuesday {tuesday.day} {tuesday:%B}"


def test_publishing_a_draft_with_problems_is_refused_and_publishes_nothing(clash, kenya):
    with pytest.raises(publishing.ScheduleNotReady) as refused:
        publishing.publish(clash, name="v1")
    assert refused.value.problems == publishing.draft_problems(clash)
    assert ScheduleRelease.objects.count() == 0
    assert StateReview.objects.get(pk=kenya.pk).meeting_date is None


def test_a_never_built_week_cannot_be_published_either(open_session):
    with pytest.raises(publishing.ScheduleNotReady) as refused:
        publishing.publish(open_session)
    assert refused.value.problems == [
        "The meeting on Kenya has no time in the week.",
        "The meeting on Türkiye has no time in the week.",
    ]


def test_a_coordinator_publishes_despite_problems_with_a_reason_that_is_recorded(cast, clash):
    release = publishing.publish(clash, name="v1", by=cast.coordinator, override_reason="  The UN confirmed the room late.  ")
    assert list(ScheduleRelease.objects.all()) == [release]
    entry = publishing.overrides([release])[release.pk]
    assert entry.user == cast.coordinator
    assert entry.change_message.endswith("Reason given: The UN confirmed the room late.")
    assert "The meetings on Kenya and Türkiye overlap" in entry.change_message


def test_only_a_coordinator_can_override(cast, clash):
    with pytest.raises(PermissionDenied):
        publishing.publish(clash, by=cast.alice, override_reason="Because.")
    with pytest.raises(PermissionDenied):
        publishing.publish(clash, override_reason="Because.")
    assert ScheduleRelease.objects.count() == 0


def test_a_draft_without_problems_publishes_with_no_override_recorded(cast, open_session):
    publishing.build_schedule(open_session)
    release = publishing.publish(open_session, by=cast.coordinator, override_reason="Not needed.")
    assert publishing.overrides([release]) == {}
    assert LogEntry.objects.count() == 0


def test_the_staff_page_proposes_the_longer_mornings_then_says_what_it_changed(client, cast, open_session):
    _states(open_session, 13)
    login_staff(client, cast.coordinator)
    page = client.get(URL).content.decode()
    assert "Building the week will change them:" in page
    assert "<li>The mornings end at 14:00 instead of 13:00.</li>" in page
    built = client.post(URL, {"action": "build"}, follow=True).content.decode()
    assert "To hold the meetings, the week changed: The mornings end at 14:00 instead of 13:00." in built
    assert "Building the week will change them:" not in built
    assert "Problems in the draft" not in built


def test_the_staff_page_tells_problems_in_words_never_as_codes(client, cast, clash):
    login_staff(client, cast.coordinator)
    page = client.get(URL).content.decode()
    for problem in publishing.draft_problems(clash):
        assert f"<li>{problem}</li>" in page
    assert "outside-window" not in page and "overlap:" not in page


def test_the_staff_page_refuses_to_publish_a_draft_with_problems_without_a_reason(client, cast, clash):
    login_staff(client, cast.coordinator)
    response = client.post(URL, {"action": "publish", "name": "v1", "override_reason": " "})
    assert response.status_code == 400
    assert ScheduleRelease.objects.count() == 0
    page = response.content.decode()
    field = page[page.index('id="override-reason"') : page.index('name="override_reason"')]
    assert "Not published: the draft has the problems listed above." in field
    assert "outside-window" not in page


def test_the_staff_page_publishes_despite_problems_with_a_reason_and_shows_it(client, cast, clash):
    login_staff(client, cast.coordinator)
    response = client.post(URL, {"action": "publish", "name": "v1", "override_reason": "The UN confirmed the room late."})
    assert response.status_code == 302
    assert ScheduleRelease.objects.get().name == "v1"
    page = client.get(URL).content.decode()
    assert "Published despite problems by carla." in page
    assert "Reason given: The UN confirmed the room late." in page
