"""The email outbox, against a real SMTP server on loopback (aiosmtpd)."""

import datetime as dt
import re

import pytest
from django.core import mail
from django.utils import timezone

from applications.models import Application
from config.celery import app as celery_app
from outbox.delivery import max_attempts, queue_email, send_email, sweep_outbox
from outbox.enums import EmailStatus
from outbox.models import Email
from outbox.tasks import task_send_email
from tests.factories import application_post, login_staff

pytestmark = pytest.mark.django_db


def test_one_confirmation_per_application_even_when_the_send_task_runs_twice(
    client, kenya, smtp_sink, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        client.post("/sessions/60/apply/", application_post(kenya))
    email = Email.objects.get()
    task_send_email.delay(email_id=email.pk)
    task_send_email.apply(kwargs={"email_id": email.pk})
    sweep_outbox()
    assert len(smtp_sink.messages) == 1
    assert smtp_sink.messages[0].rcpt_tos == ["contact@kenya-hr.example.org"]
    assert b"Application received" in smtp_sink.messages[0].content
    email.refresh_from_db()
    assert (email.status, email.attempts) == (EmailStatus.SENT, 1)


def test_queue_email_is_idempotent_per_dedupe_key(kenya):
    first = queue_email(to="a@b.org", name="application-link", context={"review": kenya}, language="en", dedupe_key="k1")
    second = queue_email(to="a@b.org", name="application-link", context={"review": kenya}, language="en", dedupe_key="k1")
    assert first.pk == second.pk
    assert Email.objects.count() == 1


def test_subject_is_one_line(kenya):
    email = queue_email(to="a@b.org", name="application-link", context={"review": kenya}, language="en", dedupe_key="k2")
    assert "\n" not in email.subject and email.subject.startswith("The link to your application")


def test_with_redis_down_the_application_is_saved_and_the_sweep_sends_one_email(
    client, kenya, django_capture_on_commit_callbacks
):
    conf = celery_app.conf
    saved = (conf.broker_url, conf.task_always_eager)
    conf.broker_url, conf.task_always_eager = "redis://127.0.0.1:1/0", False  # nothing listens on port 1
    try:
        with django_capture_on_commit_callbacks(execute=True):
            response = client.post("/sessions/60/apply/", application_post(kenya), follow=True)
    finally:
        conf.broker_url, conf.task_always_eager = saved
    assert response.status_code == 200
    assert "Check your email" in response.content.decode()
    assert Application.objects.count() == 1
    assert Email.objects.get().status == EmailStatus.QUEUED
    assert mail.outbox == []
    assert sweep_outbox() == 1
    assert sweep_outbox() == 0
    assert len(mail.outbox) == 1


def test_smtp_down_keeps_the_email_queued_with_backoff_then_fails(kenya, settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT, settings.EMAIL_TIMEOUT = "127.0.0.1", 1, 2
    email = queue_email(to="a@b.org", name="application-link", context={"review": kenya}, language="en", dedupe_key="k3")
    assert send_email(email.pk) is False
    email.refresh_from_db()
    assert (email.status, email.attempts) == (EmailStatus.QUEUED, 1)
    assert email.next_attempt_at > timezone.now() + dt.timedelta(seconds=50)
    assert "ConnectionRefusedError" in email.last_error
    assert sweep_outbox() == 0  # not due yet
    for _attempt in range(max_attempts() - 1):
        Email.objects.filter(pk=email.pk).update(next_attempt_at=timezone.now())
        send_email(email.pk)
    email.refresh_from_db()
    assert (email.status, email.attempts) == (EmailStatus.FAILED, max_attempts())


def test_a_claimed_email_is_not_sent_by_a_second_worker(kenya):
    email = queue_email(to="a@b.org", name="application-link", context={"review": kenya}, language="en", dedupe_key="k4")
    Email.objects.filter(pk=email.pk).update(status=EmailStatus.SENDING)
    assert send_email(email.pk) is False
    assert mail.outbox == []


def _confirm(client, page):
    """Submit a confirmation page's form as a browser would: with its hidden fields."""
    data = {}
    for name, value in re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)">', page.content.decode()):
        data.setdefault(name, []).append(value)
    return client.post("/admin/outbox/email/", data, follow=True)


def test_admin_can_filter_and_resend(admin_client, kenya, django_capture_on_commit_callbacks):
    email = queue_email(to="a@b.org", name="application-link", context={"review": kenya}, language="en", dedupe_key="k5")
    Email.objects.filter(pk=email.pk).update(status=EmailStatus.FAILED)
    assert admin_client.get("/admin/outbox/email/?status__exact=failed").context["cl"].result_count == 1
    with django_capture_on_commit_callbacks(execute=True):
        page = admin_client.post("/admin/outbox/email/", {"action": "resend", "_selected_action": [email.pk]})
        _confirm(admin_client, page)
    email.refresh_from_db()
    assert email.status == EmailStatus.SENT
    assert len(mail.outbox) == 1


def test_resend_leaves_drafts_and_approved_emails_alone(client, cast, kenya, smtp_sink, django_capture_on_commit_callbacks):
    draft = queue_email(
        to="a@b.org", name="application-link", context={"review": kenya}, language="en", dedupe_key="d1", draft=True
    )
    approved = queue_email(
        to="c@d.org", name="application-link", context={"review": kenya}, language="en", dedupe_key="d2", draft=True
    )
    Email.objects.filter(pk=approved.pk).update(status=EmailStatus.APPROVED)
    login_staff(client, cast.coordinator)

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            "/admin/outbox/email/", {"action": "resend", "_selected_action": [draft.pk, approved.pk]}, follow=True
        )

    assert smtp_sink.messages == []
    assert sorted(Email.objects.values_list("status", flat=True)) == [EmailStatus.APPROVED, EmailStatus.DRAFT]
    assert [str(message) for message in response.context["messages"]] == [
        "2 email(s) skipped: only sent or failed emails can be sent again, and never a decision that a later one replaced. A draft is approved, then sent with "
        "“Send the selected approved emails”; a queued email leaves on its own."
    ]


def test_resending_a_sent_email_asks_first_then_sends_it_once(client, cast, kenya, smtp_sink, django_capture_on_commit_callbacks):
    from outbox.delivery import drop_mail_connection

    email = queue_email(to="a@b.org", name="application-link", context={"review": kenya}, language="en", dedupe_key="r1")
    assert send_email(email.pk)
    login_staff(client, cast.coordinator)

    with django_capture_on_commit_callbacks(execute=True):
        page = client.post("/admin/outbox/email/", {"action": "resend", "_selected_action": [email.pk]})
    assert page.status_code == 200
    assert page.templates[0].name == "admin/outbox/email/confirm_send.html"
    assert [row["to"] for row in page.context["emails"]] == ["a@b.org"]
    assert len(smtp_sink.messages) == 1  # only the first sending

    with django_capture_on_commit_callbacks(execute=True):
        _confirm(client, page)
        _confirm(client, page)  # a second click on the same confirmation
    assert [m.rcpt_tos for m in smtp_sink.messages] == [["a@b.org"], ["a@b.org"]]
    email.refresh_from_db()
    assert (email.status, email.attempts) == (EmailStatus.SENT, 2)
    drop_mail_connection()


def test_plain_text_emails_are_not_html_escaped(client, kenya, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        client.post("/sessions/60/apply/", application_post(kenya, **{"org-name": "Ligue d'Action & Droits <Kenya>"}))
    message = mail.outbox[0]
    assert "Ligue d'Action & Droits <Kenya>" in message.body
    html = message.alternatives[0][0]
    assert "Ligue d&#x27;Action &amp; Droits &lt;Kenya&gt;" in html


def _queue_three(kenya):
    return [
        queue_email(
            to=f"person{n}@example.org",
            name="application-link",
            context={"link": "https://example.org/x", "review": kenya},
            language="en",
            dedupe_key=f"keep-open-{n}",
        )
        for n in range(3)
    ]


def test_a_worker_keeps_one_smtp_connection_while_mail_flows(kenya, smtp_sink, django_capture_on_commit_callbacks):
    from outbox.delivery import drop_mail_connection

    drop_mail_connection()
    emails = _queue_three(kenya)
    assert all(send_email(email.pk) for email in emails)
    assert len(smtp_sink.messages) == 3
    assert smtp_sink.connections == 1
    drop_mail_connection()


def test_a_connection_the_server_closed_is_replaced_and_nothing_is_lost_or_doubled(kenya, smtp_sink, settings):
    from aiosmtpd.controller import Controller

    from outbox.delivery import drop_mail_connection

    drop_mail_connection()
    first, second, third = _queue_three(kenya)
    assert send_email(first.pk)
    # The mail server restarts on the same port: the kept connection is dead, the worker does not know yet.
    from tests.conftest import Sink

    restarted = Sink()
    smtp_sink.controller.stop()
    controller = Controller(restarted, hostname="127.0.0.1", port=settings.EMAIL_PORT)
    controller.start()
    try:
        assert send_email(second.pk) and send_email(third.pk)
        assert [m.rcpt_tos for m in restarted.messages] == [["person1@example.org"], ["person2@example.org"]]
        assert restarted.connections == 1
        assert Email.objects.filter(status=EmailStatus.SENT).count() == 3
    finally:
        drop_mail_connection()
        controller.stop()
