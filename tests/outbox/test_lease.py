"""A worker that dies holding an email: the sweep sends it again, once, with the same Message-ID, and people are told."""

import datetime as dt
import email
import re

import pytest
from django.utils import timezone

from outbox.delivery import _claim, message_id, queue_email, recover_abandoned, sweep_outbox
from outbox.enums import EmailStatus
from outbox.models import Email
from tests.factories import login_staff

pytestmark = pytest.mark.django_db


def _message_ids(sink, to="a@b.org") -> list[str]:
    return [email.message_from_bytes(m.content)["Message-ID"] for m in sink.messages if m.rcpt_tos == [to]]


@pytest.fixture
def queued(kenya):
    return queue_email(to="a@b.org", name="application-link", context={"review": kenya}, language="en", dedupe_key="lease")


def test_a_row_held_by_a_dead_worker_is_sent_again_after_its_lease(queued, smtp_sink, settings):
    settings.ADMINS = [("Ops", "ops@example.org")]
    assert _claim(queued.pk) is not None  # a worker claims the row, then is killed before it sends
    assert sweep_outbox() == 0  # the lease still holds: nobody else touches the row
    Email.objects.filter(pk=queued.pk).update(lease_until=timezone.now() - dt.timedelta(seconds=1))
    assert sweep_outbox() == 1
    queued.refresh_from_db()
    assert (queued.status, queued.lease_expiries, queued.lease_until) == (EmailStatus.SENT, 1, None)
    assert _message_ids(smtp_sink) == [message_id(queued)]
    notices = [email.message_from_bytes(m.content) for m in smtp_sink.messages if m.rcpt_tos == ["ops@example.org"]]
    assert len(notices) == 1 and "sent again" in notices[0]["Subject"]  # straight to ADMINS, not through the outbox


def test_the_same_row_always_has_the_same_message_id(queued, smtp_sink):
    sweep_outbox()
    Email.objects.filter(pk=queued.pk).update(status=EmailStatus.QUEUED)  # "send again"
    sweep_outbox()
    ids = _message_ids(smtp_sink)
    assert len(ids) == 2 and ids[0] == ids[1]
    assert re.fullmatch(r"<outbox\.\d+\.[0-9a-f]{20}@upr-info\.org>", ids[0])


def test_a_live_worker_keeps_its_row(queued):
    _claim(queued.pk)
    assert recover_abandoned() == 0
    assert Email.objects.get(pk=queued.pk).status == EmailStatus.SENDING


def test_an_email_that_fails_for_good_is_reported_to_admins(kenya, smtp_sink, settings):
    settings.ADMINS = [("Ops", "ops@example.org")]
    settings.OUTBOX_RETRY_SECONDS = [0]
    refused = queue_email(to="refused@b.org", name="application-link", context={"review": kenya}, language="en", dedupe_key="x")
    sweep_outbox()
    sweep_outbox()
    refused.refresh_from_db()
    assert (refused.status, refused.attempts) == (EmailStatus.FAILED, 2)
    notices = [email.message_from_bytes(m.content) for m in smtp_sink.messages if m.rcpt_tos == ["ops@example.org"]]
    assert len(notices) == 1 and notices[0]["Subject"].endswith("An email failed for good")
    assert not Email.objects.exclude(pk=refused.pk).exists()  # the notice never goes through the outbox


def test_the_coordinators_dashboard_shows_emails_that_need_a_look(client, cast, queued):
    Email.objects.filter(pk=queued.pk).update(status=EmailStatus.FAILED)
    queue_email(to="c@d.org", name="application-link", context={"review": queued.related}, language="en", dedupe_key="again")
    Email.objects.filter(dedupe_key="again").update(lease_expiries=1)
    body = login_staff(client, cast.coordinator).get("/staff/sessions/60/dashboard/").content.decode()
    assert "1 email failed for good" in body and "1 email was sent again after a worker stopped" in body
    listing = client.get("/admin/outbox/email/?trouble=retried")
    assert [e.to for e in listing.context["cl"].result_list] == ["c@d.org"]
