"""
The outbox relay (issue 20): a submission writes its confirmation's row without rendering it, and
one relay task writes and sends every due row, in batches, on one SMTP connection. Against a real
SMTP server on loopback (aiosmtpd).
"""

import asyncio
import logging
import re
import threading
import time

import pytest
from django.core.cache import cache
from django.db import connection, connections
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from applications.models import Application
from outbox import delivery
from outbox.delivery import PENDING_KEY, _claim_many, queue_email, relay, sweep_outbox
from outbox.enums import EmailStatus
from outbox.models import Email
from tests.factories import application_post

pytestmark = pytest.mark.django_db


def _submit(client, review, email, **overrides):
    response = client.post("/sessions/60/apply/", application_post(review, email=email, **overrides))
    assert response.status_code == 302, response.content[:2000]
    return Application.objects.get(email=email)


def test_a_submission_leaves_its_confirmation_unwritten_and_the_relay_writes_it_in_the_applicants_language(
    client, kenya, smtp_sink
):
    client.cookies["django_language"] = "fr"
    application = _submit(client, kenya, "fr@kenya.example.org")  # no on-commit hooks run: nothing woke the relay
    row = Email.objects.get(object_id=application.pk, kind="application-received")
    assert (row.status, row.rendered, row.subject, row.body_text, row.language) == (EmailStatus.QUEUED, False, "", "", "fr")
    assert relay() == 1
    row.refresh_from_db()
    assert (row.status, row.rendered, row.claim) == (EmailStatus.SENT, True, "")
    assert row.subject.startswith("Candidature reçue")
    assert '<html lang="fr">' in row.body_html  # the HTML part says its language too
    assert application.organisation.name in row.body_text
    assert f"/apply/{application.link_key}" not in row.body_text  # the link is the signed token, not the raw key
    [message] = smtp_sink.messages
    assert message.rcpt_tos == ["fr@kenya.example.org"]
    assert b"Candidature" in message.content or b"utf-8" in message.content.lower()


def test_the_relay_sends_many_rows_on_one_connection_with_few_queries_per_row(client, kenya, smtp_sink, settings):
    settings.APPLICATION_RATELIMIT = "1000/m"
    for index in range(45):
        _submit(client, kenya, f"many-{index}@kenya.example.org", **{"org-name": f"Organisation {index}"})
    with CaptureQueriesContext(connection) as queries:
        assert relay() == 45
    assert len(smtp_sink.messages) == 45 and smtp_sink.connections == 1
    # Per row: one UPDATE with its text, one when it left. Per batch of 20: the look for due rows,
    # the claim, the claimed rows, the templates, the applications. Nothing per row beyond those two.
    batches = -(-45 // delivery.RELAY_BATCH) + 1  # the last look finds nothing
    assert len(queries) <= 2 * 45 + 5 * batches, len(queries)
    assert set(Email.objects.values_list("status", flat=True)) == {EmailStatus.SENT}


def test_an_application_erased_before_its_confirmation_was_written_is_not_emailed(client, kenya, smtp_sink):
    from applications.privacy import erase_applications

    application = _submit(client, kenya, "erase-me@kenya.example.org")
    row = Email.objects.get(object_id=application.pk)
    rows = _claim_many([row.pk])  # a relay claimed it, then the applicant was erased
    erase_applications([application.pk])
    assert delivery._deliver(rows) == 0
    row.refresh_from_db()
    assert (row.status, row.rendered, row.body_text, row.to) == (EmailStatus.DISCARDED, False, "", "")
    assert not smtp_sink.messages


def test_with_the_mail_server_down_the_batch_waits_without_using_up_attempts(kenya, smtp_sink):
    smtp_sink.controller.stop()
    for index in range(5):
        queue_email(
            to=f"down-{index}@b.org", name="application-link", context={"review": kenya}, language="en", dedupe_key=f"d{index}"
        )
    assert relay() == 0
    rows = list(Email.objects.order_by("pk"))
    assert [r.attempts for r in rows] == [1, 0, 0, 0, 0]  # only the first tried
    assert {r.status for r in rows} == {EmailStatus.QUEUED}
    assert len({r.next_attempt_at for r in rows}) == 1 and rows[0].next_attempt_at > timezone.now()
    assert [r.last_error != "" for r in rows] == [True, False, False, False, False]


def test_a_refused_recipient_fails_alone_and_the_batch_goes_on(kenya, smtp_sink):
    for to in ("ok-1@b.org", "refused@b.org", "ok-2@b.org"):
        queue_email(to=to, name="application-link", context={"review": kenya}, language="en", dedupe_key=to)
    assert relay() == 2
    assert sorted(m.rcpt_tos[0] for m in smtp_sink.messages) == ["ok-1@b.org", "ok-2@b.org"]
    assert Email.objects.get(to="refused@b.org").status == EmailStatus.QUEUED  # retried later


def test_a_relay_already_due_is_not_woken_twice_and_sees_the_rows_committed_before_it_starts(
    client, kenya, smtp_sink, django_capture_on_commit_callbacks
):
    cache.add(PENDING_KEY, 1, 30)  # a relay was published and has not started yet
    with django_capture_on_commit_callbacks(execute=True):
        _submit(client, kenya, "waits@kenya.example.org")
    assert not smtp_sink.messages  # nothing was published: that relay will send it
    assert relay() == 1  # ... as here, when it starts
    assert cache.get(PENDING_KEY) is None
    with django_capture_on_commit_callbacks(execute=True):
        _submit(client, kenya, "wakes@kenya.example.org")  # no relay pending: this commit wakes one (eager here)
    assert sorted(m.rcpt_tos[0] for m in smtp_sink.messages) == ["waits@kenya.example.org", "wakes@kenya.example.org"]


def test_a_lost_relay_leaves_its_rows_to_the_sweep(client, kenya, smtp_sink):
    cache.add(PENDING_KEY, 1, 30)
    _submit(client, kenya, "lost@kenya.example.org")
    assert sweep_outbox() == 1
    assert [m.rcpt_tos for m in smtp_sink.messages] == [["lost@kenya.example.org"]]


def test_render_later_needs_a_kind_that_can_rebuild_its_context(kenya):
    with pytest.raises(ValueError):
        queue_email(to="a@b.org", name="application-link", context={}, language="en", dedupe_key="x", render_later=True)


@pytest.mark.django_db(transaction=True)
def test_two_relays_racing_claim_each_row_once(kenya):
    if (
        connection.vendor == "sqlite"
        and connection.settings_dict["NAME"] in ("", ":memory:")
        or "mode=memory" in str(connection.settings_dict["NAME"])
    ):
        pytest.skip("an in-memory SQLite database is one connection; run on PostgreSQL or a SQLite file")
    cache.add(PENDING_KEY, 1, 60)  # no relay runs on commit: the two below are the only ones
    ids = [
        queue_email(
            to=f"race-{i}@b.org", name="application-link", context={"review": kenya}, language="en", dedupe_key=f"r{i}"
        ).pk
        for i in range(60)
    ]
    claimed: list[list[int]] = [[], []]
    errors = []
    start = threading.Barrier(2)

    def claim(slot):
        try:
            start.wait()
            for _ in range(6):
                claimed[slot] += [email.pk for email in _claim_many(ids)]
        except Exception as error:  # noqa: BLE001 -- reported by the assertion below
            errors.append(error)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=claim, args=(slot,)) for slot in (0, 1)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors
    assert sorted(claimed[0] + claimed[1]) == sorted(ids)  # every row once, none twice
    assert Email.objects.filter(status=EmailStatus.SENDING, attempts=1).count() == 60
    cache.delete(PENDING_KEY)


def test_the_outbox_admin_says_an_unwritten_email_will_be_written_when_sent(client, cast, kenya):
    from tests.factories import login_staff

    _submit(client, kenya, "unwritten@kenya.example.org")
    staff = login_staff(client, cast.coordinator)
    staff.cookies["django_language"] = "fr"
    listing = staff.get("/admin/outbox/email/").content.decode()
    assert "(rédigé juste avant l’envoi)" in listing
    row = Email.objects.get(to="unwritten@kenya.example.org")
    assert "(rédigé juste avant l’envoi)" in staff.get(f"/admin/outbox/email/{row.pk}/change/").content.decode()


def test_a_refused_login_is_the_servers_trouble_and_the_batch_waits_without_using_up_attempts(kenya, smtp_sink, settings):
    # The sink offers no AUTH on a plain connection: the same for every message, like a wrong password.
    settings.EMAIL_HOST_USER, settings.EMAIL_HOST_PASSWORD = "relay", "expired"
    for index in range(4):
        queue_email(
            to=f"auth-{index}@b.org", name="application-link", context={"review": kenya}, language="en", dedupe_key=f"a{index}"
        )
    assert relay() == 0
    rows = list(Email.objects.order_by("pk"))
    assert [r.attempts for r in rows] == [1, 0, 0, 0]
    assert {r.status for r in rows} == {EmailStatus.QUEUED} and "SMTPNotSupportedError" in rows[0].last_error


@pytest.mark.django_db(transaction=True)
def test_a_database_connection_cut_mid_batch_settles_the_batch_once_the_database_answers(kenya, smtp_sink, caplog):
    """The helper's finding: a PostgreSQL restart mid-batch left the whole batch to the lease, and sent some twice."""
    if connection.vendor != "postgresql":
        pytest.skip("cuts a PostgreSQL connection (pg_terminate_backend): run with DATABASE_URL")
    cache.add(PENDING_KEY, 1, 60)  # queue without a relay running on commit
    for index in range(8):
        queue_email(
            to=f"cut-{index}@b.org", name="application-link", context={"review": kenya}, language="en", dedupe_key=f"c{index}"
        )
    received = smtp_sink.handle_DATA

    async def slowly(server, session, envelope):  # each message takes a while: the cut lands mid-batch
        await asyncio.sleep(0.3)
        return await received(server, session, envelope)

    smtp_sink.handle_DATA = slowly
    connection.ensure_connection()
    backend = connection.connection.info.backend_pid

    def cut():
        deadline = time.monotonic() + 20
        while len(smtp_sink.messages) < 2 and time.monotonic() < deadline:
            time.sleep(0.01)
        other = connections.create_connection("default")
        try:
            with other.cursor() as cursor:
                cursor.execute("SELECT pg_terminate_backend(%s)", [backend])
        finally:
            other.close()

    cutter = threading.Thread(target=cut)
    cutter.start()
    with caplog.at_level(logging.WARNING, logger="outbox.delivery"):
        relay()  # here (eager) the relay it wakes afterwards sends the rest at once
    cutter.join()
    connection.close()
    [settled] = [r.getMessage() for r in caplog.records if "settled after the database came back" in r.getMessage()]
    delivered, given_back = map(int, re.search(r"(\d+) sent, (\d+) given back", settled).groups())
    assert delivered >= 2 and given_back >= 1 and delivered + given_back == 8  # the cut came mid-batch
    smtp_sink.handle_DATA = received
    relay()
    rows = list(Email.objects.order_by("pk"))
    assert {r.status for r in rows} == {EmailStatus.SENT}
    assert not [r for r in rows if r.lease_expiries]  # nothing was left to the lease, or flagged as sent twice
    assert [r.attempts for r in rows] == [1] * 8  # those given back were not counted as attempted
    recipients = [m.rcpt_tos[0] for m in smtp_sink.messages]
    assert sorted(recipients) == sorted(f"cut-{index}@b.org" for index in range(8))  # all of them, none twice
    cache.delete(PENDING_KEY)
