import pytest
from django.core import mail

from applications.models import Application
from outbox.delivery import approve_drafts, send_approved, sweep_outbox
from outbox.models import Email
from panels import domain
from panels.models import Panel, PanelRules
from presessions.models import Theme
from tests.factories import finalise, login_staff, make_application, send_decisions

pytestmark = pytest.mark.django_db


@pytest.fixture
def pool(kenya):
    """Seven Kenyan applicants: four men with high scores, three women, one NHRI with a low score."""
    themes = list(Theme.objects.order_by("pk")[:8])
    apps = []
    for i, (gender, score, kind) in enumerate(
        [
            ("man", 9.5, "cso"),
            ("man", 9.4, "cso"),
            ("man", 9.3, "cso"),
            ("man", 9.2, "cso"),
            ("woman", 6, "cso"),
            ("woman", 5, "cso"),
            ("woman", 2, "nhri"),
        ]
    ):
        app = make_application(kenya, name=f"Org {i}", gender=gender, kind=kind, themes=[themes[i]])
        Application.objects.filter(pk=app.pk).update(score_mean=score, score_count=1)
        apps.append(app)
    return apps


def _speakers(panel):
    return [m.application.organisation.name for m in panel.members.filter(role="speaker").order_by("position")]


def test_slots_follow_the_time_budget(open_session):
    rules = PanelRules.for_session(open_session)
    assert (rules.fixed_minutes, rules.slots) == (25, 5)
    assert rules.meeting_minutes(5) == 50 and rules.meeting_minutes(0) == 30
    rules.max_meeting_minutes = 45
    assert rules.slots == 4
    assert rules.meeting_minutes(5) == 45


def test_composing_meets_parity_and_includes_the_nhri_first(kenya, pool):
    panel = domain.compose_panel(kenya)
    # The NHRI (a woman) must be on the panel; then 2 women and 3 men beat 3 and 2 on score, within parity.
    assert (panel.women, panel.men, panel.parity_ok) == (2, 3, True)
    assert _speakers(panel)[0] == "Org 6"  # the NHRI speaks first
    assert set(_speakers(panel)) == {"Org 0", "Org 1", "Org 2", "Org 4", "Org 6"}
    member = panel.members.get(application=pool[0])
    assert member.explanation["new_themes"] == [Theme.objects.order_by("pk")[0].label]
    assert list(
        panel.members.filter(role="reserve").order_by("position").values_list("application__organisation__name", flat=True)
    ) == ["Org 3", "Org 5"]


def test_lock_and_exclude_then_recompute(kenya, pool):
    panel = domain.compose_panel(kenya)
    domain.set_choice(panel, pool[3], lock=True)
    domain.set_choice(panel, pool[0], exclude=True)
    panel.refresh_from_db()
    assert "Org 3" in _speakers(panel) and "Org 0" not in _speakers(panel)
    assert panel.parity_ok


def test_a_finalised_panel_cannot_be_recomposed(kenya, pool):
    panel = domain.compose_panel(kenya)
    finalise(panel)
    with pytest.raises(domain.PanelFinalised):
        domain.compose_panel(kenya)


def test_finalise_sets_decisions_and_drafts_one_email_each(kenya, pool):
    other = make_application(kenya, name="Not screened", screening="pending")
    panel = domain.compose_panel(kenya)
    drafts = finalise(panel)
    statuses = dict(Application.objects.values_list("organisation__name", "status"))
    assert statuses["Org 0"] == "selected" and statuses["Org 3"] == "reserve" and statuses["Not screened"] == "not_selected"
    assert len(drafts) == 8 and {e.status for e in drafts} == {"draft"}
    assert mail.outbox == []
    selected = Email.objects.get(kind="decision-selected", to=pool[0].email)
    assert selected.subject.startswith("Action required:")
    assert other.pk


def test_approve_send_and_send_again_gives_one_decision_email_each(kenya, pool, smtp_sink, django_capture_on_commit_callbacks):
    panel = domain.compose_panel(kenya)
    finalise(panel)
    assert approve_drafts(Email.objects.all()) == 7
    with django_capture_on_commit_callbacks(execute=True):
        assert send_approved(Email.objects.all()) == 7
        assert send_approved(Email.objects.all()) == 0
    sweep_outbox()
    domain.reopen_panel(panel)
    finalise(panel)  # finalising again drafts nothing new
    assert Email.objects.filter(status="draft").count() == 0
    recipients = sorted(m.rcpt_tos[0] for m in smtp_sink.messages)
    assert recipients == sorted(a.email for a in pool)


def test_a_decline_proposes_a_reserve_who_keeps_parity_and_approval_promotes_them(kenya, pool, client):
    panel = domain.compose_panel(kenya)
    finalise(panel)
    woman = panel.members.get(application=pool[4])
    proposal = domain.decline_participation(woman, reason="Visa refused")
    # The best reserve by score is a man (Org 3), but with a woman gone only a woman keeps |W - M| <= 1.
    assert proposal == pool[5]
    panel.refresh_from_db()
    assert panel.proposed_replacement == pool[5] and panel.replaces == pool[4]
    member = domain.approve_replacement(panel)
    assert member.role == "speaker" and member.position == woman.position
    pool[5].refresh_from_db()
    assert pool[5].status == "selected"
    # Org 5 already had a "reserve" decision drafted; the new decision is a separate, single email.
    assert Email.objects.filter(kind="decision-selected", to=pool[5].email, status="draft").count() == 1
    assert Email.objects.filter(to=pool[5].email).count() == 2


def test_the_speaker_confirms_and_declines_through_the_private_link(client, kenya, pool):
    panel = domain.compose_panel(kenya)
    finalise(panel)
    token = pool[0].get_private_url().split("/")[2]
    assert client.get(f"/applications/{token}/participation/").status_code == 404  # not told yet
    send_decisions()
    token = pool[0].get_private_url().split("/")[2]
    url = f"/applications/{token}/participation/"
    page = client.get(url)
    assert page.status_code == 200 and "Confirm your participation" in page.content.decode()
    bad = client.post(url, {"answer": "confirm"})
    assert "Say whether you will attend the training" in bad.content.decode()
    client.post(url, {"answer": "confirm", "training": "yes"})
    member = panel.members.get(application=pool[0])
    assert member.confirmed_at is not None and member.attends_training is True
    token = pool[1].get_private_url().split("/")[2]
    client.post(f"/applications/{token}/participation/", {"answer": "decline", "reason": "Ill"})
    panel.refresh_from_db()
    assert panel.proposed_replacement is not None


def test_unconfirmed_speakers_expire_into_declines(kenya, pool):
    from django.utils import timezone

    panel = domain.compose_panel(kenya)
    finalise(panel)
    later = timezone.now() + __import__("datetime").timedelta(days=8)
    assert domain.expire_unconfirmed(now=later) == 5
    panel.refresh_from_db()
    assert panel.proposed_replacement is not None


def test_panel_pages_are_for_coordinators(client, cast, kenya, pool):
    login_staff(client, cast.alice)
    assert client.get(f"/staff/panels/{kenya.pk}/").status_code == 403
    assert client.get("/staff/sessions/60/panels/").status_code == 403
    login_staff(client, cast.coordinator)
    response = client.post("/staff/sessions/60/panels/", {"action": "compose_all"})
    assert response.status_code == 302
    assert Panel.objects.count() == 2
    page = client.get(f"/staff/panels/{kenya.pk}/")
    assert page.status_code == 200
    body = page.content.decode()
    assert "Speakers, in speaking order" in body and "Org 6" in body
    assert "✓ National organisation" in body and "+ " in body  # each pick explains itself
    client.post(f"/staff/panels/{kenya.pk}/", {"action": "exclude", "application": pool[0].pk})
    assert pool[0].pk in Panel.objects.get(review=kenya).excluded.values_list("pk", flat=True)
    # Finalising asks first; while the call is open it wants a reason, shown next to the field.
    ask = client.post(f"/staff/panels/{kenya.pk}/", {"action": "finalise"})
    assert ask.status_code == 200 and "The call is still open" in ask.content.decode()
    assert not Panel.objects.get(review=kenya).is_final
    refused = client.post(f"/staff/panels/{kenya.pk}/", {"action": "finalise", "confirm": "yes", "early_reason": " "})
    assert refused.status_code == 400 and "Enter why the decisions cannot wait" in refused.content.decode()
    assert not Panel.objects.get(review=kenya).is_final
    done = client.post(
        f"/staff/panels/{kenya.pk}/", {"action": "finalise", "confirm": "yes", "early_reason": "The UN moved the session"}
    )
    assert done.status_code == 302
    panel = Panel.objects.get(review=kenya)
    assert panel.is_final and panel.early_reason == "The UN moved the session" and panel.finalised_by == cast.coordinator
    # The drafts link shows this panel's decisions only.
    body = client.get(f"/staff/panels/{kenya.pk}/").content.decode()
    assert f"?batch=panel-{kenya.pk}" in body
    listing = client.get(f"/admin/outbox/email/?batch=panel-{kenya.pk}")
    assert listing.status_code == 200
    assert listing.context["cl"].result_count == Email.objects.filter(batch=f"panel-{kenya.pk}").count() > 0


def test_statement_reminders_go_out_7_and_2_days_before_the_deadline_once(kenya, pool):
    import datetime as dt

    panel = domain.compose_panel(kenya)
    finalise(panel)
    member = panel.members.filter(role="speaker").first()
    deadline = domain.statement_deadline(member)
    assert domain.send_statement_reminders(now=deadline - dt.timedelta(days=10)) == 0
    assert domain.send_statement_reminders(now=deadline - dt.timedelta(days=6)) == 5
    assert domain.send_statement_reminders(now=deadline - dt.timedelta(days=5)) == 0
    assert domain.send_statement_reminders(now=deadline - dt.timedelta(days=1)) == 5
    assert Email.objects.filter(kind="statement-reminder").count() == 10


def test_a_statement_is_uploaded_through_the_private_link(client, kenya, pool):
    from django.core.files.uploadedfile import SimpleUploadedFile

    from tests.factories import PDF_BYTES

    panel = domain.compose_panel(kenya)
    finalise(panel)
    send_decisions()
    token = pool[0].get_private_url().split("/")[2]
    url = f"/applications/{token}/participation/"
    bad = client.post(
        url,
        {
            "form": "statement",
            "language": "fr",
            "statement": SimpleUploadedFile("s.pdf", b"MZ...", content_type="application/pdf"),
        },
    )
    assert "The selected file must be a PDF." in bad.content.decode()
    client.post(
        url,
        {
            "form": "statement",
            "language": "fr",
            "statement": SimpleUploadedFile("s.pdf", PDF_BYTES, content_type="application/pdf"),
        },
    )
    member = panel.members.get(application=pool[0])
    assert member.statement_language == "fr" and member.statement_file.name.startswith("statements/")
    member.statement_file.delete()
