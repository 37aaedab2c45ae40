"""
Issue 14: the decision flow staff can trust. Each test here failed before its fix.

One status change at a time, through one function; finalising again never leaves two
decisions pending, or more speakers than seats; a confirmed speaker stays unless staff say
otherwise; after a replacement the balance is recounted and the decliner is gone for good.
"""

import pytest

from applications.enums import ApplicationStatus
from applications.models import Application
from applications.transitions import TransitionNotAllowed, change_status
from outbox.delivery import requeue
from outbox.enums import EmailStatus
from outbox.models import Email
from panels import domain, publishing
from panels.models import Panel, PanelMember
from presessions.models import Theme
from tests.factories import close_call, finalise, login_staff, make_application, send_decisions

pytestmark = pytest.mark.django_db


@pytest.fixture
def pool(kenya):
    """Eight Kenyan applicants, all scored: four men, three women, one non-binary speaker."""
    themes = list(Theme.objects.order_by("pk")[:8])
    apps = []
    for i, (gender, score) in enumerate(
        [("man", 9.5), ("woman", 9.4), ("man", 9.3), ("woman", 9.2), ("man", 7), ("woman", 6), ("non_binary", 5), ("man", 4)]
    ):
        app = make_application(kenya, name=f"Org {i}", gender=gender, themes=[themes[i]])
        Application.objects.filter(pk=app.pk).update(score_mean=score, score_count=1)
        apps.append(app)
    return apps


def pending(application):
    return list(
        Email.objects.filter(object_id=application.pk, kind__startswith="decision-", status__in=EmailStatus.pending_states())
    )


def speakers(panel):
    return set(panel.members.filter(role="speaker").values_list("application_id", flat=True))


def test_finalise_reopen_rule_out_finalise_again_gives_one_consistent_decision_each(kenya, pool):
    panel = domain.compose_panel(kenya)
    finalise(panel)
    first = speakers(panel)
    out = Application.objects.get(pk=next(iter(first)))
    domain.reopen_panel(panel)
    domain.set_choice(panel, out, exclude=True)
    panel.refresh_from_db()
    finalise(panel)
    selected = set(Application.objects.filter(status="selected").values_list("pk", flat=True))
    assert selected == speakers(panel) and len(selected) == 5  # five seats, five selected
    out.refresh_from_db()
    assert out.status == "not_selected"
    for application in Application.objects.all():
        drafts = pending(application)
        assert len(drafts) <= 1, application
        if drafts:
            assert drafts[0].kind == "decision-" + application.status.replace("_", "-")


def test_reopen_and_recompute_keeps_a_confirmed_speaker_on_the_panel(kenya, pool):
    panel = domain.compose_panel(kenya)
    finalise(panel)
    send_decisions()
    member = panel.members.filter(role="speaker").order_by("-position").first()
    domain.confirm_participation(member, attends_training=False)
    # A better candidate arrives: recomputing alone must not push the confirmed speaker off.
    domain.reopen_panel(panel)
    star = make_application(kenya, name="Late star", gender=member.application.speaker_gender)
    Application.objects.filter(pk=star.pk).update(score_mean=10, score_count=2)
    domain.compose_panel(kenya)
    member.refresh_from_db()
    assert member.role == "speaker" and member.confirmed_at is not None
    # Ruling them out needs staff to say they mean it.
    with pytest.raises(domain.ConfirmedSpeaker):
        domain.set_choice(panel, member.application, exclude=True)
    domain.set_choice(panel, member.application, exclude=True, remove_confirmed=True)
    assert not PanelMember.objects.filter(pk=member.pk, role="speaker").exists()


def test_reopening_discards_unsent_drafts_and_a_change_of_mind_is_told(kenya, pool):
    panel = domain.compose_panel(kenya)
    finalise(panel)
    assert Email.objects.filter(status="draft").count() == 8
    domain.reopen_panel(panel)
    assert Email.objects.filter(status__in=EmailStatus.pending_states()).count() == 0
    finalise(panel)
    send_decisions()
    chosen = Application.objects.get(pk=next(iter(speakers(panel))))
    # Staff change their mind after the decisions went out: the speaker is told again, once.
    domain.reopen_panel(panel)
    domain.set_choice(panel, chosen, exclude=True)
    finalise(panel)
    assert [e.kind for e in pending(chosen)] == ["decision-not-selected"]
    send_decisions()
    chosen.refresh_from_db()
    assert chosen.status == chosen.status_for_applicant == "not_selected"
    # The old "selected" email can never be sent again: the applicant would read it last.
    old = Email.objects.get(object_id=chosen.pk, kind="decision-selected", status="sent")
    assert Email.objects.superseded().filter(pk=old.pk).exists()
    assert requeue(Email.objects.filter(pk=old.pk), seen={old.pk: old.attempts}) == 0


def test_decisions_wait_for_the_call_to_close_unless_a_reason_is_given(kenya, pool, cast):
    panel = domain.compose_panel(kenya)
    with pytest.raises(domain.CallStillOpen):
        domain.finalise_panel(panel)
    assert Email.objects.count() == 0 and not Application.objects.filter(status="selected").exists()
    domain.finalise_panel(panel, by=cast.coordinator, early_reason="Session moved forward by the UN")
    panel.refresh_from_db()
    assert panel.is_final and panel.finalised_by == cast.coordinator
    assert panel.early_reason == "Session moved forward by the UN"


def test_after_a_replacement_the_balance_is_recounted_and_the_decliner_is_gone(kenya, pool):
    panel = domain.compose_panel(kenya)
    finalise(panel)
    send_decisions()
    man = panel.members.filter(role="speaker", application__speaker_gender="man").first()
    domain.decline_participation(man, reason="Visa refused")
    panel.refresh_from_db()
    domain.approve_replacement(panel)
    panel.refresh_from_db()
    genders = [m.application.speaker_gender for m in panel.members.filter(role="speaker")]
    assert (panel.women, panel.men, panel.other_genders) == (
        genders.count("woman"),
        genders.count("man"),
        len(genders) - genders.count("woman") - genders.count("man"),
    )
    assert panel.parity_ok == (abs(panel.women - panel.men) <= 1)
    man.refresh_from_db()
    assert man.role == "declined"
    assert man.application_id not in panel.members.filter(role="reserve").values_list("application_id", flat=True)
    # Recomposing never brings them back.
    domain.reopen_panel(panel)
    domain.compose_panel(kenya)
    assert not panel.members.filter(application=man.application_id).exclude(role="declined").exists()


def test_a_status_changes_only_along_the_flow(kenya, pool):
    application = pool[0]
    with pytest.raises(TransitionNotAllowed):
        change_status(application, ApplicationStatus.DECLINED)  # never selected
    application.refresh_from_db()
    assert application.status == "submitted"
    assert change_status(application, ApplicationStatus.WITHDRAWN)
    assert application.history.first().history_change_reason == "status: withdrawn"


def test_the_panel_page_answers_a_missing_or_foreign_candidate_with_a_message(client, cast, kenya, turkiye, pool):
    login_staff(client, cast.coordinator)
    domain.compose_panel(kenya)
    foreign = make_application(turkiye, name="Ankara")
    for action in ("lock", "up", "down", "exclude", "replace"):
        for data in ({}, {"application": ""}, {"application": "x"}, {"application": foreign.pk}):
            response = client.post(f"/staff/panels/{kenya.pk}/", {"action": action, **data}, follow=True)
            assert response.status_code == 200, (action, data)
            assert "Choose one of this State" in response.content.decode()
    response = client.post(
        f"/staff/panels/{kenya.pk}/", {"action": "replace", "application": pool[0].pk, "incoming": ""}, follow=True
    )
    assert "Choose the reserve who replaces this speaker" in response.content.decode()


def test_a_repeat_organisation_gets_one_seat(kenya):
    """Two applications of one organisation, spelt differently from two mailboxes of its domain."""
    first = make_application(kenya, name="Kenya Human Rights Forum", email="info@khrf.or.ke", match=True, gender="man")
    again = make_application(kenya, name="KENYA HUMAN RIGHTS FORUM", email="director@khrf.or.ke", match=True)
    by_name = make_application(kenya, name="The Kenya Human Rights Forum (KHRF)", email="khrf@gmail.com", match=True)
    other = make_application(kenya, name="Kenya Women Lawyers", email="a@fida.or.ke", match=True)
    for a, score in ((first, 9), (again, 8), (by_name, 7), (other, 1)):
        Application.objects.filter(pk=a.pk).update(score_mean=score, score_count=1)
    ids = {a.organisation.pk: a.organisation for a in (first, again, by_name, other)}
    for organisation in ids.values():
        organisation.refresh_from_db()
    assert again.organisation.__class__.objects.get(pk=again.organisation.pk).identity_reason == "domain"
    assert by_name.organisation.__class__.objects.get(pk=by_name.organisation.pk).identity_reason == "name"
    panel = domain.compose_panel(kenya)
    chosen = speakers(panel)
    assert len(chosen & {first.pk, again.pk, by_name.pk}) == 1 and other.pk in chosen


def test_the_panel_page_warns_of_look_alikes_and_unreviewed_picks(client, cast, kenya):
    login_staff(client, cast.coordinator)
    make_application(kenya, name="Kenya Legal Aid Foundation", email="a@klaf.or.ke")
    make_application(kenya, name="Kenya Legal Aid Fondation", email="b@other.or.ke", gender="man")
    body = client.post(f"/staff/panels/{kenya.pk}/", {"action": "compose"}, follow=True).content.decode()
    assert "may be the same organisation" in body
    assert "is on the panel without any review" in body
    assert "first time on a panel" in body


def test_public_pages_follow_the_last_decision_sent(kenya, pool, open_session):
    panel = domain.compose_panel(kenya)
    finalise(panel)
    send_decisions()
    member = panel.members.filter(role="speaker").first()
    domain.confirm_participation(member, attends_training=True)
    assert publishing.public_speakers().filter(pk=member.pk).exists()
    domain.reopen_panel(panel)
    domain.set_choice(panel, member.application, exclude=True, remove_confirmed=True)
    assert not publishing.public_speakers().filter(application=member.application).exists()
    assert Panel.objects.get(pk=panel.pk).status == "draft"
    close_call(open_session)


def test_reopening_before_sending_still_tells_those_not_selected(kenya, pool):
    """Found by the stateful test: a not-selected applicant's discarded draft was never drafted again."""
    panel = domain.compose_panel(kenya)
    finalise(panel)
    domain.reopen_panel(panel)
    finalise(panel)
    for application in Application.objects.filter(status="not_selected"):
        assert [e.kind for e in pending(application)] == ["decision-not-selected"]


def test_finalising_a_panel_with_someone_who_withdrew_asks_to_recompute(kenya, pool):
    """Found by the stateful test: a withdrawn applicant still on the suggestion made finalising fail."""
    from applications import domain as application_domain

    panel = domain.compose_panel(kenya)
    speaker = panel.members.filter(role="speaker").first().application
    application_domain.withdraw_application(speaker)
    with pytest.raises(domain.PanelOutOfDate):
        finalise(panel)
    domain.compose_panel(kenya)
    finalise(panel)
    speaker.refresh_from_db()
    assert speaker.status == "withdrawn" and not pending(speaker)


def test_speakers_hear_nothing_from_a_panel_before_their_decision(client, cast, kenya, pool):
    """Found by the attack on issue 14: "write to every speaker" went out from a draft panel."""
    login_staff(client, cast.coordinator)
    panel = domain.compose_panel(kenya)
    with pytest.raises(domain.PanelNotFinal):
        domain.message_speakers(panel, subject="Hello", body="Soon")
    response = client.post(f"/staff/panels/{kenya.pk}/", {"action": "message", "subject": "Hi", "body": "x"}, follow=True)
    assert "Only a finalised panel can do this" in response.content.decode()
    finalise(panel)
    # Finalised, but the decisions are still drafts: nobody has been told yet.
    assert domain.message_speakers(panel, subject="Hello", body="Soon") == 0
    send_decisions()
    assert domain.message_speakers(panel, subject="Hello", body="Soon") == len(speakers(panel))
    assert not Email.objects.filter(kind="panel-message").exclude(to__in=[a.email for a in pool]).exists()


def test_reopening_a_draft_panel_says_it_cannot(client, cast, kenya, pool):
    login_staff(client, cast.coordinator)
    domain.compose_panel(kenya)
    body = client.post(f"/staff/panels/{kenya.pk}/", {"action": "reopen"}, follow=True).content.decode()
    assert "Only a finalised panel can do this" in body and "Panel reopened" not in body


def test_outbox_rows_cannot_be_deleted(client, cast, kenya, pool):
    """Found by the attack on issue 14: deleting a sent decision email made a told speaker untold."""
    login_staff(client, cast.coordinator)
    panel = domain.compose_panel(kenya)
    finalise(panel)
    send_decisions()
    email = Email.objects.filter(kind="decision-selected").first()
    client.post("/admin/outbox/email/", {"action": "delete_selected", "_selected_action": [email.pk], "post": "yes"})
    assert client.post(f"/admin/outbox/email/{email.pk}/delete/", {"post": "yes"}).status_code == 403
    assert Email.objects.filter(pk=email.pk).exists()


def test_after_a_decline_the_balance_points_to_the_replacement(client, cast, kenya):
    """Found by the attack on issue 14: the page said parity was unreachable while a replacement restored it."""
    login_staff(client, cast.coordinator)
    for i, (gender, score) in enumerate([("woman", 9), ("woman", 8.9), ("woman", 8.8), ("man", 8.7), ("man", 8.6), ("man", 3)]):
        app = make_application(kenya, name=f"Org {i}", gender=gender)
        Application.objects.filter(pk=app.pk).update(score_mean=score, score_count=1)
    panel = domain.compose_panel(kenya)
    finalise(panel)
    send_decisions()
    man = panel.members.get(application__organisation__name="Org 3")
    domain.decline_participation(man, reason="Visa refused")
    panel.refresh_from_db()
    assert (panel.women, panel.men, panel.parity_ok) == (3, 1, False)
    assert panel.proposed_replacement.organisation.name == "Org 5"
    body = client.get(f"/staff/panels/{kenya.pk}/").content.decode()
    assert "see the replacement to approve below" in body
    assert "parity is not reachable with this pool" not in body


def test_a_decided_applicant_is_not_told_the_call_is_open(client, kenya, pool):
    """The applicant's page says how long the call is open while that matters, and not once they are decided."""
    panel = domain.compose_panel(kenya)
    domain.finalise_panel(panel, early_reason="Testing")  # the call stays open
    send_decisions()
    chosen = Application.objects.get(pk=next(iter(speakers(panel))))
    body = client.get(chosen.get_private_url()).content.decode()
    assert "Selected" in body and "The call for applications is open" not in body
    waiting = make_application(kenya, name="Still waiting")
    assert "The call for applications is open" in client.get(waiting.get_private_url()).content.decode()


def test_recounting_the_balance_takes_the_same_queries_for_any_pool(kenya):
    """The balance is recounted after every change to a panel: it must not query once per candidate or speaker."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    counts = []
    for size in (6, 30):
        for i in range(size - Application.objects.count()):
            app = make_application(kenya, name=f"Pool {size}-{i}", gender="woman" if i % 2 else "man")
            Application.objects.filter(pk=app.pk).update(score_mean=5 + i % 4, score_count=1)
        panel = domain.compose_panel(kenya)
        with CaptureQueriesContext(connection) as queries:
            domain.refresh_balance(panel)
        counts.append(len(queries))
    assert counts[0] == counts[1], counts
