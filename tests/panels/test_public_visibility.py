"""
Who the public schedule names, in every state of the decision flow: nobody before they are told
and have confirmed, only as they consented, and nobody a moment after they decline.
"""

import datetime as dt

import pytest
from django.core.files.base import ContentFile
from django.utils import timezone

from applications.models import Application
from outbox.models import Email
from panels import domain, publishing
from panels.models import PanelMember, ScheduleSubscription
from presessions.models import StateReview
from tests.factories import PDF_BYTES, confirm_speakers, finalise, make_application, send_decisions

pytestmark = pytest.mark.django_db

URLS = ["/sessions/60/schedule/", "/sessions/60/schedule/ke/", "/sessions/60/schedule.ics", "/sessions/60/schedule.json"]


@pytest.fixture
def kenya_panel(open_session, kenya):
    for i, name in enumerate(["Amani Voice", "Baraza Watch", "Comfort Trust"]):
        app = make_application(kenya, name=name, gender=["woman", "man", "woman"][i])
        Application.objects.filter(pk=app.pk).update(
            score_mean=9 - i, publication="name_and_organisation", speaker_name=f"Speaker {name}"
        )
    panel = domain.compose_panel(kenya)
    finalise(panel)
    publishing.build_schedule(open_session)
    return panel


def _public(client) -> str:
    return "".join(client.get(url).content.decode() for url in URLS)


def _member(panel, name) -> PanelMember:
    return panel.members.get(application__organisation__name=name)


def test_a_finalised_panel_names_nobody_until_the_speakers_are_told_and_confirm(client, open_session, kenya_panel):
    publishing.publish(open_session)
    text = _public(client)
    assert "Amani Voice" not in text and "Speaker Amani" not in text
    send_decisions()
    publishing.publish(open_session)
    assert "Amani Voice" not in _public(client)  # told, not yet confirmed
    domain.confirm_participation(_member(kenya_panel, "Amani Voice"), attends_training=True)
    publishing.publish(open_session)
    text = _public(client)
    assert "Speaker Amani Voice, Amani Voice" in text
    assert "Baraza Watch" not in text  # told, has not confirmed


def test_a_speaker_cannot_confirm_before_being_told(client, kenya_panel):
    member = _member(kenya_panel, "Amani Voice")
    token = member.application.get_private_url().split("/")[2]
    assert client.post(f"/applications/{token}/participation/", {"answer": "confirm", "training": "yes"}).status_code == 404
    member.refresh_from_db()
    assert member.confirmed_at is None
    # Nor does their private page show the decision yet.
    assert "Selected" not in client.get(f"/applications/{token}/").content.decode()


def test_a_decline_takes_the_speaker_off_every_public_output_at_once(
    client, open_session, kenya_panel, django_capture_on_commit_callbacks
):
    confirm_speakers(kenya_panel)
    amani = _member(kenya_panel, "Amani Voice")
    amani.statement_file.save("s.pdf", ContentFile(PDF_BYTES))
    PanelMember.objects.filter(pk=amani.pk).update(statement_public=True)
    publishing.publish(open_session)
    statement = f"/statements/{amani.statement_key}.pdf"
    assert "Speaker Amani Voice" in _public(client) and statement in _public(client)
    assert client.get(statement).status_code == 200
    etags = {url: client.get(url)["ETag"] for url in URLS}
    amani.refresh_from_db()
    with django_capture_on_commit_callbacks(execute=True):
        domain.decline_participation(amani, reason="Safety")  # no new release
    text = _public(client)
    assert "Amani Voice" not in text and statement not in text
    assert "Baraza Watch" in text  # the others stay
    assert client.get(statement).status_code == 404
    for url in URLS:  # a browser's earlier copy is not reused
        assert client.get(url, HTTP_IF_NONE_MATCH=etags[url]).status_code == 200
    amani.statement_file.delete()


def test_a_statement_is_public_only_while_staff_keep_it_so_and_its_address_cannot_be_guessed(
    client, open_session, kenya_panel, django_capture_on_commit_callbacks
):
    confirm_speakers(kenya_panel)
    amani = _member(kenya_panel, "Amani Voice")
    amani.statement_file.save("s.pdf", ContentFile(PDF_BYTES))
    publishing.publish(open_session)
    statement = f"/statements/{amani.statement_key}.pdf"
    assert client.get(statement).status_code == 404 and statement not in _public(client)
    with django_capture_on_commit_callbacks(execute=True):
        amani.statement_public = True
        amani.save()
    assert client.get(statement).status_code == 200 and statement in _public(client)
    with django_capture_on_commit_callbacks(execute=True):
        amani.statement_public = False
        amani.save()
    assert client.get(statement).status_code == 404 and statement not in _public(client)
    assert client.get(f"/statements/{amani.pk}.pdf").status_code == 404
    assert len(amani.statement_key) >= 32
    amani.statement_file.delete()


def test_the_json_shows_no_internal_keys(client, open_session, kenya_panel):
    confirm_speakers(kenya_panel)
    publishing.publish(open_session)
    data = client.get("/sessions/60/schedule.json").json()
    speakers = [s for day in data["days"] for m in day["meetings"] for s in m["speakers"]]
    assert speakers and all(set(s) == {"position", "organisation", "name", "kind", "scope", "statement"} for s in speakers)


def test_schedule_updates_go_to_subscribers_and_the_confirmed_speakers_of_changed_meetings(
    client, open_session, kenya_panel, kenya, turkiye
):
    other = make_application(turkiye, name="Ankara Voice")
    turkish = domain.compose_panel(turkiye)
    finalise(turkish)
    confirm_speakers(kenya_panel)  # Türkiye's speaker is told, and confirms below
    domain.confirm_participation(turkish.members.get(application=other), attends_training=False)
    domain.decline_participation(_member(kenya_panel, "Comfort Trust"), reason="")
    ScheduleSubscription.objects.create(session=open_session, email="mission@example.org", confirmed_at=timezone.now())
    ScheduleSubscription.objects.create(session=open_session, email="unconfirmed@example.org")
    publishing.build_schedule(open_session)
    publishing.publish(open_session)
    day = StateReview.objects.get(pk=kenya.pk).meeting_date
    publishing.move_meeting(kenya, starts_at=timezone.make_aware(dt.datetime.combine(day, dt.time(12, 0))), room="XX")
    release = publishing.publish(open_session)
    updates = Email.objects.filter(kind="schedule-updated", object_id=release.pk)
    changed = {change["iso2"] for change in release.changes}
    assert "KE" in changed
    speakers = PanelMember.objects.filter(
        panel__review__country__in=changed, confirmed_at__isnull=False, declined_at__isnull=True
    ).values_list("application__email", flat=True)
    assert sorted(updates.values_list("to", flat=True)) == sorted(["mission@example.org", *speakers])
    assert "comfort-trust" not in " ".join(updates.values_list("to", flat=True))  # declined
    body = updates.first().body_text
    assert "Kenya" in body and "- KE:" not in body
    for name in ["Amani", "Baraza", "Comfort", "Ankara"]:
        assert name not in body


def test_narrowed_consent_applies_at_once_and_a_changed_status_removes_the_speaker(
    client, open_session, kenya_panel, django_capture_on_commit_callbacks
):
    confirm_speakers(kenya_panel)
    publishing.publish(open_session)
    amani, baraza = _member(kenya_panel, "Amani Voice"), _member(kenya_panel, "Baraza Watch")
    assert "Speaker Amani Voice, Amani Voice" in _public(client)
    with django_capture_on_commit_callbacks(execute=True):
        application = amani.application
        application.publication = "organisation"  # the speaker asked staff to drop their name
        application.save()
    text = _public(client)
    assert "Speaker Amani Voice" not in text and "Amani Voice" in text
    with django_capture_on_commit_callbacks(execute=True):
        application = baraza.application
        application.status = "not_selected"
        application.save()
    assert "Baraza Watch" not in _public(client)


def test_the_admin_cannot_write_an_applications_status(client, cast, kenya_panel):
    from tests.factories import login_staff

    application = _member(kenya_panel, "Amani Voice").application
    login_staff(client, cast.coordinator)
    page = client.get(f"/admin/applications/application/{application.pk}/change/").content.decode()
    assert 'name="status"' not in page


def test_each_speaker_is_named_in_their_own_agenda_slot(client, open_session, kenya_panel):
    send_decisions()
    speakers = list(kenya_panel.members.filter(role="speaker").order_by("position"))
    second = speakers[1]
    domain.confirm_participation(second, attends_training=True)  # only the second in the speaking order
    publishing.publish(open_session)
    meeting = client.get("/sessions/60/schedule.json").json()["days"][0]["meetings"][0]
    named = {item["speaker"]: item for item in meeting["agenda"] if item["kind"] == "speaker"}
    assert sorted(named) == list(range(1, len(speakers) + 1))  # a slot for every speaker
    assert [s["position"] for s in meeting["speakers"]] == [2]
    label = f"Speaker {second.application.organisation.name}, {second.application.organisation.name}"
    ics = client.get("/sessions/60/schedule.ics").content.decode().replace("\r\n ", "").replace("\\,", ",")
    assert label in ics and label in client.get("/sessions/60/schedule/ke/").content.decode()
