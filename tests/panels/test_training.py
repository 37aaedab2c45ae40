"""Issue 18, the training day: its date, time and place, the invitation to confirmed speakers who said they would come, and who came."""

import pytest
from django.utils import timezone

from outbox.models import Email
from panels.models import PanelMember, TrainingDay
from tests.factories import login_staff
from tests.panels.test_mission_attendance import week  # noqa: F401 -- a fixture

pytestmark = pytest.mark.django_db


def test_staff_invite_the_speakers_who_will_come_and_record_who_came(client, cast, week):  # noqa: F811
    login_staff(client, cast.coordinator)
    assert "Set its date, time and place" in client.get("/staff/sessions/60/training/").content.decode()
    day = TrainingDay.objects.create(
        session=week["session"], date=week["session"].start_date, place="Palais des Nations, Room XXIV"
    )
    speakers = list(PanelMember.objects.filter(panel__review__session=week["session"], role="speaker"))
    PanelMember.objects.filter(pk=speakers[0].pk).update(attends_training=False)

    assert client.post("/staff/sessions/60/training/", {"action": "invite"}).status_code == 302
    invited = Email.objects.filter(kind="training-invitation")
    assert invited.count() == len(speakers) - 1 and "Room XXIV" in invited.first().body_text
    client.post("/staff/sessions/60/training/", {"action": "invite"})
    assert invited.count() == len(speakers) - 1  # once each

    came = [speakers[1].pk, speakers[2].pk]
    posted = {"action": "attendance", "came": [str(pk) for pk in came] + ["junk", "²", "9" * 30]}
    early = client.post("/staff/sessions/60/training/", posted, follow=True)
    assert "from the day of the training" in early.content.decode()
    assert not PanelMember.objects.filter(attended_training=True).exists()  # not before the day
    TrainingDay.objects.filter(pk=day.pk).update(date=timezone.localdate())
    assert client.post("/staff/sessions/60/training/", posted).status_code == 302  # odd digits and huge numbers ignored
    assert set(PanelMember.objects.filter(attended_training=True).values_list("pk", flat=True)) == set(came)
    page = client.get("/staff/sessions/60/training/").content.decode()
    assert page.count(" checked") == 2
    home = client.get("/staff/sessions/60/").content.decode()
    assert "2 came" in home
    day.refresh_from_db()
    assert day.invited_at is not None


def test_an_assessor_cannot_reach_the_roster(client, cast, week):  # noqa: F811
    login_staff(client, cast.alice)
    assert client.get("/staff/sessions/60/training/").status_code == 403
    assert client.post("/staff/sessions/60/training/", {"action": "invite"}).status_code == 403
    assert not Email.objects.filter(kind="training-invitation").exists()
