"""The email outbox, against a real SMTP server on loopback (aiosmtpd)."""

import datetime as dt

import pytest
from django.core import mail
from django.utils import timezone

from applications.models import Application
from presessions.celery import app as celery_app
from presessions.emails import MAX_ATTEMPTS, queue_email, send_email, sweep_outbox
from presessions.enums import EmailStatus
from presessions.models import Email
from presessions.tasks import task_send_email
from tests.factories import application_post

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
    assert "Your application has been submitted." in response.content.decode()
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
    for _attempt in range(MAX_ATTEMPTS - 1):
        Email.objects.filter(pk=email.pk).update(next_attempt_at=timezone.now())
        send_email(email.pk)
    email.refresh_from_db()
    assert (email.status, email.attempts) == (EmailStatus.FAILED, MAX_ATTEMPTS)


def test_a_claimed_email_is_not_sent_by_a_second_worker(kenya):
    email = queue_email(to="a@b.org", name="application-link", context={"review": kenya}, language="en", dedupe_key="k4")
    Email.objects.filter(pk=email.pk).update(status=EmailStatus.SENDING)
    assert send_email(email.pk) is False
    assert mail.outbox == []


def test_admin_can_filter_and_resend(admin_client, kenya, django_capture_on_commit_callbacks):
    email = queue_email(to="a@b.org", name="application-link", context={"review": kenya}, language="en", dedupe_key="k5")
    Email.objects.filter(pk=email.pk).update(status=EmailStatus.FAILED)
    assert admin_client.get("/admin/presessions/email/?status__exact=failed").context["cl"].result_count == 1
    with django_capture_on_commit_callbacks(execute=True):
        admin_client.post("/admin/presessions/email/", {"action": "resend", "_selected_action": [email.pk]})
    email.refresh_from_db()
    assert email.status == EmailStatus.SENT
    assert len(mail.outbox) == 1


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
    from presessions.emails import drop_mail_connection

    drop_mail_connection()
    emails = _queue_three(kenya)
    assert all(send_email(email.pk) for email in emails)
    assert len(smtp_sink.messages) == 3
    assert smtp_sink.connections == 1
    drop_mail_connection()


def test_a_connection_the_server_closed_is_replaced_and_nothing_is_lost_or_doubled(kenya, smtp_sink, settings):
    from aiosmtpd.controller import Controller

    from presessions.emails import drop_mail_connection

    drop_mail_connection()
    first, second, third = _queue_three(kenya)
    assert send_email(first.pk)
    # The mail server restarts on the same port: the kept connection is dead, the worker does not know yet.
    from tests.applications.conftest import Sink

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
