"""
Issue 18, remote speakers in a hybrid series: a confirmed speaker switches between Geneva and
remote until their morning's guest list is due; the link to join is shown only to staff and, from
the day before, to the meeting's remote speakers: never on a public page, in the JSON or the ICS.
"""

import datetime as dt

import pytest
from django.test import Client
from django.utils import timezone

from applications.models import Application
from applications.tokens import make_token
from panels import palais, remote
from panels.models import PanelMember
from presessions.models import Session, StateReview
from tests.factories import login_staff
from tests.panels.test_mission_attendance import week  # noqa: F401 -- a fixture

pytestmark = pytest.mark.django_db

LINK = "https://meet.example.org/upr-ke-7f3a9c"


@pytest.fixture
def hybrid(week):  # noqa: F811
    Session.objects.filter(pk=week["session"].pk).update(presession_format="hybrid")
    StateReview.objects.filter(pk=week["ke"].pk).update(remote_link=LINK)
    member = PanelMember.objects.filter(panel__review=week["ke"], role="speaker", confirmed_at__isnull=False).first()
    Application.objects.filter(pk=member.application_id).update(attendance="in_person")
    return {**week, "member": member, "url": f"/applications/{make_token(member.application)}/participation/"}


def move_meeting(review, day: dt.date, start: dt.time):
    StateReview.objects.filter(pk=review.pk).update(meeting_date=day, meeting_start=start)


def guests_of(review) -> set[str]:
    review.refresh_from_db()
    return {guest.organisation for guest in palais.guests(review.session, review.meeting_date)}


def test_a_speaker_switches_to_remote_and_leaves_the_guest_list(hybrid):
    member, url = hybrid["member"], hybrid["url"]
    organisation = member.application.organisation.name
    assert organisation in guests_of(hybrid["ke"])
    page = Client().get(url)
    assert page.status_code == 200 and 'name="mode"' in page.content.decode()

    assert Client().post(url, {"form": "mode"}).status_code == 400  # no choice: said next to the field
    assert Application.objects.get(pk=member.application_id).attendance == "in_person"
    assert Client().post(url, {"form": "mode", "mode": "remote"}).status_code == 302
    assert Application.objects.get(pk=member.application_id).attendance == "remote"
    assert organisation not in guests_of(hybrid["ke"])
    page = Client().get(url).content.decode()
    assert "A visa support letter" not in page  # a remote speaker needs none
    assert LINK not in page  # the meeting is weeks away: not yet


def test_the_choice_closes_when_the_guest_list_is_due(hybrid):
    member, url = hybrid["member"], hybrid["url"]
    tomorrow = timezone.localdate() + dt.timedelta(days=1)
    move_meeting(hybrid["ke"], tomorrow, dt.time(9))  # the list was due 48 hours before
    page = Client().get(url).content.decode()
    assert 'name="mode"' not in page
    response = Client().post(url, {"form": "mode", "mode": "remote"}, follow=True)
    assert "too late" in response.content.decode()
    assert Application.objects.get(pk=member.application_id).attendance == "in_person"


def test_a_virtual_series_offers_no_choice_an_in_person_one_does(week):  # noqa: F811
    member = PanelMember.objects.filter(panel__review=week["ke"], role="speaker", confirmed_at__isnull=False).first()
    Application.objects.filter(pk=member.application_id).update(attendance="remote")
    url = f"/applications/{make_token(member.application)}/participation/"
    assert 'name="mode"' in Client().get(url).content.decode()  # in person: a remote speaker may still come
    Session.objects.filter(pk=week["session"].pk).update(presession_format="virtual")
    assert 'name="mode"' not in Client().get(url).content.decode()
    Client().post(url, {"form": "mode", "mode": "in_person"})
    assert Application.objects.get(pk=member.application_id).attendance == "remote"
    member.refresh_from_db()
    with pytest.raises(remote.ModeLocked):
        remote.change_mode(PanelMember.objects.select_related("panel__review__session").get(pk=member.pk), "in_person")


def test_the_link_reaches_remote_speakers_the_day_before_and_never_the_public(client, cast, hybrid):
    member, url, ke = hybrid["member"], hybrid["url"], hybrid["ke"]
    Application.objects.filter(pk=member.application_id).update(attendance="remote")
    assert LINK not in Client().get(url).content.decode()

    move_meeting(ke, timezone.localdate(), dt.time(23, 59))  # within the day before
    assert LINK in Client().get(url).content.decode()
    others = PanelMember.objects.filter(panel__review=ke, role="speaker").exclude(pk=member.pk)
    other = others.first()
    Application.objects.filter(pk=other.application_id).update(attendance="in_person")
    assert LINK not in Client().get(f"/applications/{make_token(other.application)}/participation/").content.decode()

    number = ke.session.number
    for path in (
        f"/sessions/{number}/schedule/",
        f"/sessions/{number}/schedule.json",
        f"/sessions/{number}/schedule.ics",
        f"/sessions/{number}/schedule/{ke.country.code.lower()}/",
    ):
        response = client.get(path)
        assert response.status_code == 200, path
        body = b"".join(response.streaming_content) if response.streaming else response.content
        assert LINK.encode() not in body, path

    move_meeting(ke, timezone.localdate() - dt.timedelta(days=1), dt.time(9))  # the meeting is over
    assert LINK not in Client().get(url).content.decode()
    login_staff(client, cast.coordinator)
    assert LINK in client.get(f"/admin/presessions/statereview/{ke.pk}/change/").content.decode()


@pytest.mark.parametrize(
    ("language", "heading", "label", "error"),
    [
        ("fr", "À Genève ou à distance", "Comment participerez-vous", "Indiquez si vous viendrez à Genève"),
        ("es", "En Ginebra o a distancia", "¿Cómo participará?", "Indique si vendrá a Ginebra"),
    ],
)
def test_the_choice_is_offered_in_french_and_spanish(hybrid, language, heading, label, error):
    client = Client(headers={"accept-language": language})
    client.cookies["django_language"] = language
    page = client.get(hybrid["url"]).content.decode()
    assert f'lang="{language}"' in page and heading in page and label in page
    refused = client.post(hybrid["url"], {"form": "mode"})
    assert refused.status_code == 400 and error in refused.content.decode()
