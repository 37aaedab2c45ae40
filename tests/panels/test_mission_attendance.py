"""
Issue 18, missions in the room: a permanent mission says which meetings it will attend (double
opt-in by email, no account); staff see what to expect, print a sign-in sheet per morning and check
missions in at the door; speakers see how many missions said they would come, never which.
"""

import datetime as dt
import re

import pytest
from django.test import Client
from django.utils import timezone

from outbox.models import Email
from panels import attendance, domain, publishing
from panels.models import MeetingRecord, MissionCheckIn, MissionRegistration, PanelMember
from presessions.models import StateReview
from tests.factories import confirm_speakers, finalise, login_staff, make_application

pytestmark = pytest.mark.django_db


@pytest.fixture
def week(open_session, kenya, turkiye):
    for review in (kenya, turkiye):
        for index, gender in enumerate(["woman", "man", "woman"]):
            make_application(review, name=f"{review.country.code} Forum {index}", gender=gender)
    panels = [domain.compose_panel(review) for review in (kenya, turkiye)]
    for panel in panels:
        finalise(panel)
    confirm_speakers(*panels)
    publishing.build_schedule(open_session)
    publishing.publish(open_session)
    return {"session": open_session, "ke": StateReview.objects.get(pk=kenya.pk), "tr": StateReview.objects.get(pk=turkiye.pk)}


def on_the_day(review) -> dt.datetime:
    """Noon, Geneva time, on the meeting's day: attendance is recorded from that day on."""
    return timezone.make_aware(dt.datetime.combine(review.meeting_date, dt.time(12)))


def meet_today(*reviews) -> None:
    """Move the meetings to today, for the views, which record attendance from the meeting's day on."""
    StateReview.objects.filter(pk__in=[r.pk for r in reviews]).update(meeting_date=timezone.localdate())
    for review in reviews:
        review.refresh_from_db()


def link_in(email: Email) -> str:
    return re.search(r"https?://[^/\s]+(/mission-attendance/[^\s]+/)", email.body_text).group(1)


def staff_rows(client, number) -> dict[str, list[str]]:
    page = client.get(f"/staff/sessions/{number}/attendance/").content.decode()
    rows = {}
    for name, cells in re.findall(r'<th scope="row">([^<]+)</th>(.*?)</tr>', page, re.S):
        rows[name.strip()] = re.findall(r"<td>(\d+)</td>", cells)
    return rows


def test_a_mission_registers_for_two_meetings_and_counts_once_it_confirms(client, cast, week, django_capture_on_commit_callbacks):
    ke, tr = week["ke"], week["tr"]
    assert "tell us which meetings you will attend" in client.get("/sessions/60/schedule/").content.decode()
    form = client.get("/sessions/60/schedule/attend/")
    assert form.status_code == 200 and f'name="meeting-{ke.pk}"' in form.content.decode()
    with django_capture_on_commit_callbacks(execute=True):
        sent = client.post(
            "/sessions/60/schedule/attend/",
            {"mission": "FR", "email": "Delegate@Mission-FR.example.org", f"meeting-{ke.pk}": "2", f"meeting-{tr.pk}": "1"},
        )
    assert sent.status_code == 200 and "Check your email" in sent.content.decode()
    email = Email.objects.get(kind="mission-registration-confirm")
    assert email.to == "delegate@mission-fr.example.org" and "France" in email.body_text
    coordinator = Client()
    login_staff(coordinator, cast.coordinator)
    assert staff_rows(coordinator, 60)["Kenya"][:2] == ["0", "0"]  # nothing counts before the confirmation

    link = link_in(email)
    page = Client().get(link)
    assert page.status_code == 200 and "Confirm" in page.content.decode()
    assert MissionRegistration.objects.get().confirmed_at is None  # no write on GET
    assert Client().post(link, {"action": "confirm"}).status_code == 302

    rows = staff_rows(coordinator, 60)
    assert rows["Kenya"][:2] == ["1", "2"] and rows["Türkiye"][:2] == ["1", "1"]


def test_the_form_says_what_is_wrong_next_to_the_field_and_keeps_what_was_typed(client, week):
    ke = week["ke"]
    empty = client.post("/sessions/60/schedule/attend/", {"mission": "FR", "email": "d@example.org"})
    page = empty.content.decode()
    assert empty.status_code == 400
    assert "Give the number of delegates for at least one meeting" in page and f'href="#id_meeting-{ke.pk}"' in page
    assert 'value="d@example.org"' in page
    bad = client.post("/sessions/60/schedule/attend/", {"mission": "XX", "email": "nope", f"meeting-{ke.pk}": "99"})
    page = bad.content.decode()
    assert bad.status_code == 400 and "Enter at most 20 delegates" in page and "like name@example.org" in page
    assert not MissionRegistration.objects.exists() and not Email.objects.filter(kind="mission-registration-confirm").exists()


def test_a_new_confirmed_answer_replaces_the_earlier_one_and_a_withdrawn_one_stops_counting(week):
    ke, tr = week["ke"], week["tr"]
    session = week["session"]
    first = attendance.register(session, mission="FR", email="d@example.org", language="en", choices={ke.pk: 2})
    attendance.confirm(first)
    second = attendance.register(session, mission="FR", email="d@example.org", language="en", choices={tr.pk: 3})
    assert attendance.expected_missions(ke) == 1 and attendance.expected_missions(tr) == 0  # the second is unconfirmed
    attendance.confirm(second)
    assert attendance.expected_missions(ke) == 0 and attendance.expected_missions(tr) == 1
    attendance.withdraw(second)
    assert attendance.expected_missions(tr) == 0
    # Someone else's address cannot replace the mission's answer: it is a second answer, counted once per mission.
    other = attendance.register(session, mission="FR", email="someone@example.org", language="en", choices={tr.pk: 1})
    attendance.confirm(other)
    attendance.confirm(attendance.register(session, mission="FR", email="d@example.org", language="en", choices={tr.pk: 2}))
    assert attendance.expected_missions(tr) == 1


def test_staff_check_missions_in_at_the_door_and_the_record_counts_them(client, cast, week):
    ke = week["ke"]
    attendance.confirm(
        attendance.register(week["session"], mission="FR", email="d@example.org", language="en", choices={ke.pk: 2})
    )
    login_staff(client, cast.coordinator)
    early = client.get(f"/staff/meetings/{ke.pk}/check-in/")
    assert "attendance can be recorded from that day" in early.content.decode()
    client.post(f"/staff/meetings/{ke.pk}/check-in/", {"mission": "FR", "delegates": "2", "action": "in"})
    client.post(f"/staff/meetings/{ke.pk}/check-in/", {"action": "statement-yes"})
    assert not MissionCheckIn.objects.exists() and not MeetingRecord.objects.exists()  # not before the day
    with pytest.raises(attendance.TooEarly):
        attendance.check_in(ke, mission="FR", delegates=2)
    meet_today(ke)
    door = client.get(f"/staff/meetings/{ke.pk}/check-in/")
    assert door.status_code == 200 and "France" in door.content.decode()

    assert (
        client.post(f"/staff/meetings/{ke.pk}/check-in/", {"mission": "FR", "delegates": "2", "action": "in"}).status_code == 302
    )
    assert (
        client.post(f"/staff/meetings/{ke.pk}/check-in/", {"mission": "BR", "delegates": "1", "action": "in"}).status_code == 302
    )
    checks = {c.mission.code: c for c in MissionCheckIn.objects.filter(review=ke)}
    assert checks["FR"].registered and not checks["BR"].registered and checks["FR"].checked_in_by == cast.coordinator
    assert staff_rows(client, 60)["Kenya"] == ["1", "2", "2", "3"]

    client.post(f"/staff/meetings/{ke.pk}/check-in/", {"mission": "BR", "delegates": "1", "action": "out"})
    assert staff_rows(client, 60)["Kenya"][2:] == ["1", "2"]
    bad = client.post(f"/staff/meetings/{ke.pk}/check-in/", {"mission": "", "delegates": "0", "action": "in"})
    assert bad.status_code == 400 and "error-summary" in bad.content.decode()

    sheet = client.get(f"/staff/sessions/60/attendance/{ke.meeting_date.isoformat()}/sheet/")
    assert sheet.status_code == 200 and "France" in sheet.content.decode() and "Name and signature" in sheet.content.decode()
    assert client.get("/staff/sessions/60/attendance/2001-01-01/sheet/").status_code == 404
    assert client.get("/staff/sessions/60/attendance/not-a-day/sheet/").status_code == 404


def test_an_assessor_cannot_see_or_record_attendance(client, cast, week):
    login_staff(client, cast.alice)
    assert client.get("/staff/sessions/60/attendance/").status_code == 403
    assert client.post(f"/staff/meetings/{week['ke'].pk}/check-in/", {"mission": "FR", "delegates": "1"}).status_code == 403
    assert not MissionCheckIn.objects.exists()


def test_a_speaker_sees_how_many_missions_will_come_never_which(week):
    from applications.tokens import make_token

    ke = week["ke"]
    for code in ("FR", "BR", "JP"):
        attendance.confirm(
            attendance.register(week["session"], mission=code, email=f"{code}@example.org", language="en", choices={ke.pk: 1})
        )
    attendance.register(week["session"], mission="DE", email="de@example.org", language="en", choices={ke.pk: 1})  # unconfirmed
    member = PanelMember.objects.filter(panel__review=ke, role="speaker", confirmed_at__isnull=False).first()
    page = Client().get(f"/applications/{make_token(member.application)}/participation/").content.decode()
    assert "3 permanent missions have said they will attend your meeting" in page
    outside_lists = re.sub(r"(?s)<select.*?</select>", "", page)  # the visa form lists every country
    assert "France" not in outside_lists and "Brazil" not in outside_lists


def test_the_staff_page_costs_the_same_queries_whatever_the_numbers(client, cast, week, django_assert_max_num_queries):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    login_staff(client, cast.coordinator)
    ke, tr = week["ke"], week["tr"]

    def count() -> int:
        with CaptureQueriesContext(connection) as queries:
            assert client.get("/staff/sessions/60/attendance/").status_code == 200
        return len(queries)

    attendance.confirm(
        attendance.register(week["session"], mission="FR", email="a@example.org", language="en", choices={ke.pk: 1})
    )
    few = count()
    for code in ("BR", "JP", "DE", "IT", "CA", "MX"):
        attendance.confirm(
            attendance.register(
                week["session"], mission=code, email=f"{code}@example.org", language="en", choices={ke.pk: 1, tr.pk: 2}
            )
        )
        attendance.check_in(ke, mission=code, delegates=1, now=on_the_day(ke))
    assert count() == few


def test_the_purge_forgets_the_missions_contacts_and_keeps_the_counts(week):
    import datetime as dt

    from django.utils import timezone

    from applications import privacy

    ke = week["ke"]
    attendance.confirm(
        attendance.register(week["session"], mission="FR", email="fr-contact@example.org", language="en", choices={ke.pk: 2})
    )
    attendance.register(week["session"], mission="BR", email="br-contact@example.org", language="en", choices={ke.pk: 1})
    end = privacy.presession_end(week["session"])
    later = timezone.make_aware(dt.datetime.combine(end, dt.time(12))) + dt.timedelta(days=privacy.retention_days("drafts") + 1)

    dry = privacy.purge(now=later, dry_run=True)
    report = privacy.purge(now=later)

    assert dry.counts["mission_contacts"] == report.counts["mission_contacts"] == 2
    emails = set(MissionRegistration.objects.values_list("email", flat=True))
    assert not any(e.endswith("@example.org") for e in emails) and len(emails) == 1
    assert attendance.expected_missions(ke) == 1


def test_delegates_count_once_per_mission_and_an_inbox_cannot_be_flooded(week):
    ke = week["ke"]
    for email in ("b@example.org", "c@example.org"):
        attendance.confirm(attendance.register(week["session"], mission="FR", email=email, language="en", choices={ke.pk: 5}))
    [row] = [r for r in attendance.by_meeting(week["session"]) if r.review.pk == ke.pk]
    assert (row.expected_missions, row.expected_delegates) == (1, 5)

    answers = [
        attendance.register(week["session"], mission="BR", email="victim@example.org", language="en", choices={ke.pk: 1})
        for _ in range(6)
    ]
    assert sum(1 for a in answers if a is not None) == attendance.ANSWERS_PER_ADDRESS_PER_HOUR
    assert Email.objects.filter(kind="mission-registration-confirm", to="victim@example.org").count() == 3


def test_missions_answer_only_for_meetings_of_the_published_schedule_still_to_come(client, open_session, kenya):
    import datetime as dt

    StateReview.objects.filter(pk=kenya.pk).update(meeting_date=dt.date.today() + dt.timedelta(days=30))
    assert client.get("/sessions/60/schedule/attend/").status_code == 404  # a date, but nothing published


def test_meetings_past_are_not_offered(client, week):
    import datetime as dt

    ke, tr = week["ke"], week["tr"]
    StateReview.objects.filter(pk=ke.pk).update(meeting_date=dt.date.today() - dt.timedelta(days=1))
    page = client.get("/sessions/60/schedule/attend/").content.decode()
    assert f'name="meeting-{ke.pk}"' not in page and f'name="meeting-{tr.pk}"' in page


def test_one_mailbox_answers_for_one_mission_and_staff_can_withdraw_an_answer(
    client, cast, week, django_capture_on_commit_callbacks
):
    """What an attack showed: aliases of one mailbox announced eight missions; staff could not see or undo it."""
    ke = week["ke"]
    for n, code in enumerate(["CN", "US", "RU"]):
        answer = attendance.register(
            week["session"], mission=code, email=f"attacker+{n}@evil.test", language="en", choices={ke.pk: 20}
        )
        assert answer is not None or n == 3
        if answer:
            attendance.confirm(answer)
    fourth = attendance.register(week["session"], mission="BR", email="attacker+9@evil.test", language="en", choices={ke.pk: 20})
    assert fourth is None  # three answers an hour per mailbox, aliases included
    assert attendance.expected_missions(ke) == 1  # each confirmed alias replaced the one before
    honest = attendance.register(
        week["session"], mission="FR", email="delegue@mission-fr.test", language="en", choices={ke.pk: 2}
    )
    attendance.confirm(honest)
    assert attendance.expected_missions(ke) == 2

    login_staff(client, cast.coordinator)
    page = client.get("/staff/sessions/60/attendance/").content.decode()
    assert "attacker+2@evil.test" in page and "delegue@mission-fr.test" in page
    forged = MissionRegistration.objects.get(email="attacker+2@evil.test")
    assert client.post("/staff/sessions/60/attendance/", {"withdraw": str(forged.pk)}).status_code == 302
    assert attendance.expected_missions(ke) == 1
    assert client.post("/staff/sessions/60/attendance/", {"withdraw": "²"}).status_code == 302  # nothing, no error
    assert client.post("/staff/sessions/60/attendance/", {"withdraw": "9" * 40}).status_code == 302
    assert attendance.expected_missions(ke) == 1
