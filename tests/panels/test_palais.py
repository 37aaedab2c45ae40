"""
Issue 18, Palais access: a morning's guest list holds exactly the confirmed speakers of that
morning's meetings who come in person, with a warning where a detail is missing; coordinators
are reminded once when it is due.
"""

import csv
import datetime as dt
import io

import pytest
from django.utils import timezone

from applications.models import Application
from outbox.models import Email
from panels import domain, palais, publishing
from panels.models import PanelMember
from presessions.models import StateReview
from tests.factories import confirm_speakers, finalise, login_staff, make_application

pytestmark = pytest.mark.django_db


@pytest.fixture
def two_mornings(open_session, kenya, turkiye):
    for review in (kenya, turkiye):
        for index, gender in enumerate(["woman", "man", "woman", "man"]):
            make_application(review, name=f"{review.country.code} Forum {index}", gender=gender)
    panels = [domain.compose_panel(review) for review in (kenya, turkiye)]
    for panel in panels:
        finalise(panel)
    confirm_speakers(*panels)
    publishing.build_schedule(open_session)
    placement = StateReview.objects.get(pk=turkiye.pk).placement
    next_morning = timezone.localtime(placement.starts_at) + dt.timedelta(days=1)
    publishing.move_meeting(StateReview.objects.get(pk=turkiye.pk), starts_at=next_morning, room=placement.room)
    publishing.publish(open_session)
    return {"session": open_session, "ke": StateReview.objects.get(pk=kenya.pk), "tr": StateReview.objects.get(pk=turkiye.pk)}


def test_a_morning_lists_exactly_its_confirmed_speakers_who_come_in_person(client, cast, two_mornings):
    ke, tr = two_mornings["ke"], two_mornings["tr"]
    assert ke.meeting_date != tr.meeting_date
    speakers = list(PanelMember.objects.filter(panel__review=ke, role="speaker").select_related("application"))
    remote, undecided, nameless = speakers[0].application, speakers[1].application, speakers[2].application
    Application.objects.filter(review__session=two_mornings["session"]).update(attendance="in_person")
    Application.objects.filter(pk=remote.pk).update(attendance="remote")
    Application.objects.filter(pk=undecided.pk).update(attendance="")
    Application.objects.filter(pk=nameless.pk).update(speaker_name="")
    declined = speakers[-1]
    domain.decline_participation(declined, reason="ill")

    listed = palais.guests(two_mornings["session"], ke.meeting_date)

    expected = {
        m.application.organisation.name
        for m in PanelMember.objects.filter(
            panel__review__meeting_date=ke.meeting_date, role="speaker", confirmed_at__isnull=False, declined_at__isnull=True
        ).select_related("application__organisation")
        if m.application.attendance != "remote"
    }
    assert {guest.organisation for guest in listed} == expected and expected
    assert remote.organisation.name not in expected and declined.application.organisation.name not in expected
    assert all(guest.meeting == ke.name for guest in listed)  # Türkiye's speakers come the next morning
    warnings = {guest.organisation: guest.warnings for guest in listed}
    assert warnings[undecided.organisation.name] == ["Has not said whether they come in person"]
    assert warnings[nameless.organisation.name] == ["No speaker's name"]

    login_staff(client, cast.coordinator)
    day = ke.meeting_date.isoformat()
    page = client.get(f"/staff/sessions/60/guest-list/{day}/")
    assert page.status_code == 200 and remote.organisation.name not in page.content.decode()
    rows = list(csv.reader(io.StringIO(client.get(f"/staff/sessions/60/guest-list/{day}.csv").content.decode())))
    assert rows[0][:3] == ["Family name", "Given names", "Organisation"] and len(rows) == len(listed) + 1
    assert client.get("/staff/sessions/60/guest-list/2001-01-01/").status_code == 404


def test_a_name_that_looks_like_a_formula_is_not_run_by_a_spreadsheet(client, cast, two_mornings):
    ke = two_mornings["ke"]
    member = PanelMember.objects.filter(panel__review=ke, role="speaker").first()
    Application.objects.filter(pk=member.application_id).update(speaker_name='Eve =HYPERLINK("http://x")', attendance="in_person")
    login_staff(client, cast.coordinator)
    body = client.get(f"/staff/sessions/60/guest-list/{ke.meeting_date.isoformat()}.csv").content.decode()
    assert "'=HYPERLINK" in body


def test_the_coordinators_are_reminded_once_when_a_list_is_due(cast, two_mornings):
    cast.coordinator.email = "carla@upr-info.example.org"
    cast.coordinator.save()
    session, ke = two_mornings["session"], two_mornings["ke"]
    due = palais.due_at(session, ke.meeting_date)
    assert due == timezone.make_aware(dt.datetime.combine(ke.meeting_date, ke.meeting_start)) - dt.timedelta(hours=48)

    assert palais.remind_coordinators(now=due - dt.timedelta(days=3)) == 0
    assert palais.remind_coordinators(now=due - dt.timedelta(hours=6)) >= 1
    palais.remind_coordinators(now=due - dt.timedelta(hours=5))
    reminders = Email.objects.filter(kind="guest-list-due", to="carla@upr-info.example.org")
    assert reminders.count() == 1 + (
        1 if palais.due_at(session, two_mornings["tr"].meeting_date) - due <= dt.timedelta(days=1) else 0
    )
    assert "Palais guest list due" in reminders.first().subject


def test_a_meeting_not_held_has_no_guests_and_no_check_in(client, cast, two_mornings):
    ke = two_mornings["ke"]
    assert palais.guests(two_mornings["session"], ke.meeting_date)
    StateReview.objects.filter(pk=ke.pk).update(meeting_not_held=True)
    assert palais.guests(two_mornings["session"], ke.meeting_date) == []
    login_staff(client, cast.coordinator)
    assert client.get(f"/staff/meetings/{ke.pk}/check-in/").status_code == 404
