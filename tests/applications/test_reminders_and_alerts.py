import datetime as dt
import re

import pytest
from django.core import mail
from django.utils import timezone

from applications import domain
from applications.models import Application, CallAlert
from outbox.models import Email

pytestmark = pytest.mark.django_db


@pytest.fixture
def draft(client, kenya):
    client.post("/sessions/60/apply/", {"action": "draft", "app-review": kenya.pk, "org-email": "draft@example.org"})
    return Application.objects.get()


def _set_close(kenya, when):
    call = kenya.session.call
    call.closes_at = when
    call.save()


def test_reminders_go_out_7_and_2_days_before_the_close_once_each(draft, kenya, django_capture_on_commit_callbacks):
    now = timezone.now()
    _set_close(kenya, now + dt.timedelta(days=10))
    assert domain.send_deadline_reminders(now=now) == 0
    _set_close(kenya, now + dt.timedelta(days=6, hours=23))
    with django_capture_on_commit_callbacks(execute=True):
        assert domain.send_deadline_reminders(now=now) == 1
        assert domain.send_deadline_reminders(now=now) == 0
    _set_close(kenya, now + dt.timedelta(days=1))
    with django_capture_on_commit_callbacks(execute=True):
        assert domain.send_deadline_reminders(now=now) == 1
        assert domain.send_deadline_reminders(now=now) == 0
    subjects = [m.subject for m in mail.outbox if "Reminder" in m.subject]
    assert subjects == ["Reminder: your draft application closes in 7 days", "Reminder: your draft application closes in 2 days"]


def test_reminders_skip_submitted_withdrawn_and_opted_out(client, draft, kenya):
    _set_close(kenya, timezone.now() + dt.timedelta(days=3))
    Application.objects.filter(pk=draft.pk).update(reminders_opt_out=True)
    assert domain.send_deadline_reminders() == 0
    Application.objects.filter(pk=draft.pk).update(reminders_opt_out=False, status="submitted")
    assert domain.send_deadline_reminders() == 0


def test_a_reminder_has_a_working_one_click_unsubscribe(client, draft, kenya, django_capture_on_commit_callbacks):
    _set_close(kenya, timezone.now() + dt.timedelta(days=3))
    with django_capture_on_commit_callbacks(execute=True):
        domain.send_deadline_reminders()
    message = [m for m in mail.outbox if "Reminder" in m.subject][0]
    url = re.match(r"<(.+)>", message.extra_headers["List-Unsubscribe"]).group(1)
    assert message.extra_headers["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    path = url.split("127.0.0.1:8000")[-1]
    assert path in message.body
    assert client.get(path).status_code == 200
    response = client.post(path, {"List-Unsubscribe": "One-Click"})
    assert response.status_code == 200
    draft.refresh_from_db()
    assert draft.reminders_opt_out is True


def test_alert_needs_double_opt_in_and_is_sent_once(client, kenya, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post("/alerts/", {"email": "Watcher@Example.org", "country": "KE"})
    assert response.status_code == 302
    alert = CallAlert.objects.get()
    assert alert.email == "watcher@example.org"
    assert domain.send_call_alerts() == 0  # not confirmed yet
    confirm = re.search(r"/alerts/\S+/confirm/", mail.outbox[0].body).group(0)
    assert client.get(confirm).status_code == 200
    client.post(confirm)
    alert.refresh_from_db()
    assert alert.confirmed_at is not None
    with django_capture_on_commit_callbacks(execute=True):
        assert domain.send_call_alerts() == 1
        assert domain.send_call_alerts() == 0
    alert_mail = mail.outbox[-1]
    assert alert_mail.subject == "The call is open: speak at the Pre-session on Kenya"
    assert "List-Unsubscribe" in alert_mail.extra_headers


def test_alerts_only_for_countries_in_an_open_call(client, kenya):
    CallAlert.objects.create(email="a@example.org", country="BR", confirmed_at=timezone.now())
    assert domain.send_call_alerts() == 0


def test_unsubscribed_alert_is_not_sent(client, kenya):
    alert = CallAlert.objects.create(email="a@example.org", country="KE", confirmed_at=timezone.now())
    url = domain.alert_unsubscribe_url(alert).split("127.0.0.1:8000")[-1]
    assert client.post(url).status_code == 200
    assert domain.send_call_alerts() == 0


def test_subscribing_twice_keeps_one_alert(client, kenya):
    for _ in range(2):
        client.post("/alerts/", {"email": "w@example.org", "country": "KE"})
    assert CallAlert.objects.count() == 1
    assert Email.objects.filter(kind="alert-confirm").count() == 1  # at most one confirmation an hour


def test_alert_form_errors(client):
    response = client.post("/alerts/", {"email": "nope", "country": "ZZ"})
    body = response.content.decode()
    assert "Enter an email address in the correct format" in body
    assert "Choose a UN Member State from the list" in body
    assert CallAlert.objects.count() == 0


def test_a_tampered_alert_link_is_404(client, kenya):
    alert = CallAlert.objects.create(email="a@example.org", country="KE")
    url = domain.alert_unsubscribe_url(alert).split("127.0.0.1:8000")[-1]
    assert client.get(url.replace("/unsubscribe/", "x/unsubscribe/")).status_code == 404
    # A link made for one purpose does not open another.
    application_style = url.replace("/alerts/", "/applications/").replace("/unsubscribe/", "/")
    assert client.get(application_style).status_code == 404
