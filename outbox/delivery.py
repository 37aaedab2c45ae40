"""
Delivery: render, queue and send every email the product sends.

- `render_message(name, context, language)` renders
  templates/emails/{name}-subject.txt, -body.txt and -body.html.
- `queue_email(...)` writes an Email row inside the caller's transaction and, once that
  transaction commits, wakes the relay. With `render_later`, the row is written without its
  subject and bodies, which the relay writes just before sending: a submission on deadline day
  does not spend its time rendering an email.
- `relay()` (a Celery task) claims due rows a batch at a time, writes the deferred ones and sends
  them all on one kept-open SMTP connection, until none is due. Waking it costs a request one
  Redis SET NX: while a relay is already due to start, nothing is published (see `wake_relay`).
- `send_email(pk)` claims one row and sends it; `sweep_outbox()` sends every row that is due, and
  runs every minute under Celery beat.
- A template edited by staff (EmailTemplate) renders in a sandbox: see
  outbox.sandbox, and outbox.kinds for the placeholders each app registers.

If Redis or the mail server is down, the row stays queued and a later sweep
sends it. A row is claimed (status "sending", under a lease) before the SMTP
conversation starts, so two workers never send it at once; a row left in
"sending" by a worker that died is queued again by the sweep once its lease
expires, with the same Message-ID (it may have left just before the crash),
and ADMINS and the coordinator's dashboard are told.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import logging
import re
import secrets
import smtplib
import threading
import time
from collections import defaultdict
from collections.abc import Callable
from email.utils import parseaddr

from django.conf import settings
from django.contrib.contenttypes.models import ContentType
from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.core.mail import EmailMultiAlternatives, get_connection, mail_admins
from django.core.mail.backends.smtp import EmailBackend as SMTPBackend
from django.db import IntegrityError, InterfaceError, OperationalError, connection, transaction
from django.db.models import CharField, F, Model, Value
from django.db.models.functions import Cast, Concat
from django.template import TemplateDoesNotExist, TemplateSyntaxError
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone, translation

from . import kinds
from .enums import EmailStatus
from .links import absolute_url, site_url
from .models import Email, EmailTemplate
from .sandbox import render_override

logger = logging.getLogger(__name__)

# Seconds to wait before each retry (settings.OUTBOX_RETRY_SECONDS); after the last one the row is
# marked failed.


def backoff() -> list[int]:
    return list(settings.OUTBOX_RETRY_SECONDS)


def max_attempts() -> int:
    return len(backoff()) + 1


_NO_OVERRIDE = object()


def render_message(name: str, context: dict, language: str, override=_NO_OVERRIDE) -> tuple[str, str, str]:
    """
    Render an email's subject, text body and (optional) HTML body in `language`.

    A template edited by staff in the admin (EmailTemplate) wins over the file templates. One
    the sandbox refuses (a row saved without the admin's checks, or from before them) is
    logged and skipped: the file template is used instead, so the email still leaves and shows
    nothing but its own recipient's values.
    """
    # LANGUAGE_CODE: the HTML part's <html lang>, which no request's context processor sets here.
    context = {"contact_email": settings.CONTACT_EMAIL, "site_url": site_url(), "LANGUAGE_CODE": language, **context}
    if override is _NO_OVERRIDE:
        override = EmailTemplate.objects.filter(name=name, language=language, active=True).first()
    if override is not None:
        try:
            return render_override(override, context)
        except (ValidationError, TemplateSyntaxError):
            logger.warning(
                "Email template %s (%s) is not allowed in the sandbox; the file template is used.", override.pk, override
            )
    with translation.override(language):
        subject = render_to_string(f"emails/{name}-subject.txt", context)
        text = render_to_string(f"emails/{name}-body.txt", context)
        try:
            html = render_to_string(f"emails/{name}-body.html", context)
        except TemplateDoesNotExist:
            html = ""
    # A subject is a single line: a stray newline would start the headers' body.
    subject = re.sub(r"\s+", " ", subject).strip()
    return subject, text.strip() + "\n", html


def queue_email(
    *,
    to: str,
    name: str,
    context: dict,
    language: str,
    dedupe_key: str,
    related: Model | None = None,
    unsubscribe_url: str = "",
    draft: bool = False,
    new_key: bool = False,
    batch: str = "",
    render_later: bool = False,
) -> Email:
    """
    Queue one email, at most once per `dedupe_key`.

    Side effects, in order: an Email row in the current transaction (or the
    existing row with the same key, unchanged); then, on commit and unless
    `draft`, the relay is woken to send it.

    `new_key` says that no row can have this key yet (it names an object created in the same
    transaction): the row is then inserted without looking for an earlier one first.

    `render_later` leaves the subject and bodies to the relay, which rebuilds the context from
    `related` with the function the kind registered (outbox.kinds.register_kind(context=…));
    `context` is then not used.
    """
    if not new_key and (existing := Email.objects.filter(dedupe_key=dedupe_key).first()):
        return existing
    if render_later:
        kind = kinds.kinds().get(name)
        if kind is None or kind.context is None or related is None:
            raise ValueError(f"The {name} email cannot be written later: its kind registers no context, or it has no object.")
        subject = text = html = ""
    else:
        subject, text, html = render_message(name, context, language)
    headers = {}
    if unsubscribe_url:
        headers = {"List-Unsubscribe": f"<{unsubscribe_url}>", "List-Unsubscribe-Post": "List-Unsubscribe=One-Click"}
    email = Email(
        to=to,
        kind=name,
        subject=subject,
        body_text=text,
        body_html=html,
        language=language,
        headers=headers,
        related=related,
        status=EmailStatus.DRAFT if draft else EmailStatus.QUEUED,
        dedupe_key=dedupe_key,
        batch=batch,
        rendered=not render_later,
    )
    if new_key:
        email.save(force_insert=True)
    else:
        try:
            with transaction.atomic():
                email.save(force_insert=True)
        except IntegrityError:
            # Another request queued the same message a moment ago.
            return Email.objects.get(dedupe_key=dedupe_key)
    if not draft:
        transaction.on_commit(wake_relay)
    return email


def queue_each(messages: dict[str, Callable[[], dict]]) -> int:
    """
    Queue many emails, each at most once: `messages` maps each one's dedupe key to a function that
    returns the rest of queue_email's arguments. The keys already in the outbox are found with one
    query, and only the other messages are built; each is queued in its own transaction, so one
    failure does not undo the others. Return how many were queued.
    """
    already = set(Email.objects.filter(dedupe_key__in=list(messages)).values_list("dedupe_key", flat=True))
    queued = 0
    for key, build in messages.items():
        if key in already:
            continue
        with transaction.atomic():
            queue_email(dedupe_key=key, **build())
        queued += 1
    return queued


# After the broker failed, leave new emails to the sweep for a few seconds instead of making
# every request wait for a connection attempt (Redis down, or a bad minute).
BROKER_RETRY_SECONDS = 5.0
_broker_down_until = 0.0

# Set (SET NX, in the shared cache) while a relay task is published and has not started yet. Every
# commit that queues an email tries to set it; only the one that succeeds publishes. A relay deletes
# it first, then looks for due rows: a row committed before the delete is found by that look, and a
# row committed after it sets the key again and wakes another relay. So no row waits for the sweep,
# and a rush of a thousand submissions publishes a handful of tasks instead of a thousand. The
# expiry only matters if a published task is lost: the next commit, or the sweep, takes over.
PENDING_KEY = "outbox:relay-pending"
PENDING_SECONDS = 10


def relay_delay() -> float:
    """
    Seconds a woken relay waits before it looks (settings.OUTBOX_RELAY_DELAY): the rows committed
    meanwhile go in the same batches. On deadline day that turns one task per submission into one
    per second; an applicant's confirmation leaves that much later.
    """
    return settings.OUTBOX_RELAY_DELAY


def wake_relay() -> None:
    """Make sure a relay will run after this moment; if the broker is down, leave the rows to the sweep."""
    global _broker_down_until
    from .tasks import task_relay_outbox  # the tasks module imports this one

    if time.monotonic() < _broker_down_until:
        return
    if not cache.add(PENDING_KEY, 1, PENDING_SECONDS):
        return  # a relay is published and has not looked yet: it will see this row
    try:
        task_relay_outbox.apply_async(countdown=relay_delay() or None)
    except Exception:  # noqa: BLE001 -- any broker failure: the sweep sends it later
        cache.delete(PENDING_KEY)
        if _broker_down_until == 0.0:
            logger.warning(
                "Could not wake the outbox relay through Celery; the outbox sweep will send the emails.", exc_info=True
            )
        _broker_down_until = time.monotonic() + BROKER_RETRY_SECONDS
    else:
        _broker_down_until = 0.0


# What "send again" applies to. A draft or an approved email leaves only through approve, then send.
RESENDABLE = (EmailStatus.SENT, EmailStatus.FAILED)


def requeue(queryset, *, seen: dict[int, int]) -> int:
    """
    Queue sent or failed emails of `queryset` again, now (the admin's "resend"); return how many.

    `seen` maps the id of each email that staff confirmed to its number of attempts as the
    confirmation page showed it. An email is queued only if it is still sent or failed with that
    many attempts: a draft or an approved email never leaves this way, and a second click on the
    confirmation does not send an email a second time.
    """
    now = timezone.now()
    ids = [
        email_id
        for email_id, attempts in seen.items()
        if queryset.filter(pk=email_id, status__in=RESENDABLE, attempts=attempts)
        .exclude(pk__in=Email.objects.superseded())
        .update(status=EmailStatus.QUEUED, next_attempt_at=now, last_error="")
    ]
    if ids:
        transaction.on_commit(wake_relay)
    return len(ids)


def _claim_many(ids: list[int], token: str = "") -> list[Email]:
    """
    Mark the due rows among `ids` as sending, under the claim `token` (a new one if not given), and
    return them (in id order).

    The conditional UPDATE is the claim: when two relays (or a relay and the sweep) race for the
    same rows, PostgreSQL makes the second wait for the first and then re-check the WHERE clause
    row by row, and SQLite runs one write at a time, so each row is claimed once. The claim token
    then tells which rows this UPDATE took.
    """
    now, token = timezone.now(), token or secrets.token_hex(16)
    claimed = Email.objects.filter(pk__in=ids, status=EmailStatus.QUEUED, next_attempt_at__lte=now).update(
        status=EmailStatus.SENDING,
        attempts=F("attempts") + 1,
        lease_until=now + dt.timedelta(seconds=settings.OUTBOX_LEASE_SECONDS),
        claim=token,
    )
    if not claimed:
        return []
    return list(Email.objects.filter(pk__in=ids, claim=token, status=EmailStatus.SENDING).order_by("pk"))


def _claim(email_id: int) -> Email | None:
    """Mark one due row as sending and return it, or None if it is not ours to send."""
    rows = _claim_many([email_id])
    return rows[0] if rows else None


# A worker keeps its SMTP connection open while mail flows, instead of a new conversation
# (TCP, EHLO, maybe TLS and login) for every message: on deadline day that is thousands.
SMTP_KEEP_SECONDS = 60  # close a connection that has been idle this long
SMTP_CHECK_SECONDS = 5  # after this much idleness, check with NOOP that the server still listens
_smtp = threading.local()


def _mail_connection():
    """This thread's mail connection: a kept-open one for SMTP, a new one for Django's other backends."""
    fresh, now = get_connection(), time.monotonic()
    if not isinstance(fresh, SMTPBackend):
        return fresh
    kept = getattr(_smtp, "connection", None)
    if kept is not None:
        idle = now - _smtp.used_at
        if _server(kept) != _server(fresh) or idle > SMTP_KEEP_SECONDS or (idle > SMTP_CHECK_SECONDS and not _still_open(kept)):
            drop_mail_connection()
            kept = None
    if kept is None:
        fresh.open()
        kept = _smtp.connection = fresh
    _smtp.used_at = now
    return kept


def _server(connection: SMTPBackend) -> tuple:
    return connection.host, connection.port, connection.username, connection.use_tls, connection.use_ssl


def _still_open(connection: SMTPBackend) -> bool:
    try:
        return connection.connection is not None and connection.connection.noop()[0] == 250
    except Exception:  # noqa: BLE001 -- any failure means: open a new one
        return False


def drop_mail_connection() -> None:
    """Close this thread's kept SMTP connection, if any (after an error, or when idle)."""
    connection, _smtp.connection = getattr(_smtp, "connection", None), None
    if connection is not None:
        with contextlib.suppress(Exception):
            connection.close()


def send_email(email_id: int) -> bool:
    """Send one queued row. Return True if it left, False if it was not due or failed."""
    token, delivered = secrets.token_hex(16), []
    try:
        rows = _claim_many([email_id], token)
        return bool(rows) and _deliver(rows, delivered) == 1
    except DATABASE_FAILURES:
        _settle_after_database_failure(token, delivered)
        return bool(delivered)


# Rows a relay claims at once. A worker killed mid-batch leaves them all to the sweep, which sends
# them again after the lease with their Message-ID and counts them as "sent again": a small batch
# keeps that count honest; a large one saves little more (the SMTP conversation dominates).
RELAY_BATCH = 20
# A relay that still finds due rows after this long hands over to a new task (and so lets the
# worker take other tasks in between).
RELAY_SECONDS = 30.0


def relay(*, batch: int = RELAY_BATCH, seconds: float = RELAY_SECONDS) -> int:
    """Send every due row, `batch` at a time, on one SMTP connection; return how many left."""
    cache.delete(PENDING_KEY)  # from now on, a newly committed row wakes another relay
    sent, until = 0, time.monotonic() + seconds
    while True:
        ids = list(Email.objects.due().order_by("next_attempt_at", "pk").values_list("pk", flat=True)[:batch])
        if not ids:
            return sent
        token, delivered = secrets.token_hex(16), []
        try:
            sent += _deliver(_claim_many(ids, token), delivered)
        except DATABASE_FAILURES:
            logger.warning("The database went away during a batch of emails; settling the batch when it is back.")
            if _settle_after_database_failure(token, delivered):
                wake_relay()  # the next batches, in a new task
            return sent + len(delivered)
        if time.monotonic() > until:
            wake_relay()
            return sent


# The database failures a relay survives (a restart, a dropped connection), and how long it waits
# for the database to settle its batch before leaving the batch to the lease.
DATABASE_FAILURES = (OperationalError, InterfaceError)
DATABASE_WAIT_SECONDS = 10.0


def _settle_after_database_failure(token: str, delivered: list[int]) -> bool:
    """
    After the database went away in the middle of a batch: once it answers again, mark the rows
    that reached the mail server as sent, and give back the others, as if not attempted. Without
    this, the whole batch would wait for its lease (5 minutes), then leave again, the delivered rows
    a second time. Return False if the database did not come back within DATABASE_WAIT_SECONDS:
    the lease then does it, as for a worker that died.
    """
    deadline = time.monotonic() + DATABASE_WAIT_SECONDS
    forget = [name for name, kind in kinds.kinds().items() if kind.forget_when_sent]
    while True:
        connection.close()
        try:
            with transaction.atomic():
                now = timezone.now()
                mine = Email.objects.filter(claim=token, status=EmailStatus.SENDING)
                mine.filter(pk__in=delivered).update(
                    status=EmailStatus.SENT, sent_at=now, last_error="", lease_until=None, claim=""
                )
                Email.objects.filter(pk__in=delivered, kind__in=forget, status=EmailStatus.SENT).exclude(to="").update(
                    to="", body_text="", body_html="", headers={}, dedupe_key=Concat(Value("sent:"), Cast("pk", CharField()))
                )
                given_back = mine.update(
                    status=EmailStatus.QUEUED, attempts=F("attempts") - 1, next_attempt_at=now, lease_until=None, claim=""
                )
            logger.warning(
                "Outbox batch settled after the database came back: %d sent, %d given back.", len(delivered), given_back
            )
            return True
        except DATABASE_FAILURES:
            if time.monotonic() >= deadline:
                logger.error("The database did not come back within %s s; the batch waits for its lease.", DATABASE_WAIT_SECONDS)
                return False
            time.sleep(0.5)


def _deliver(rows: list[Email], delivered: list[int] | None = None) -> int:
    """
    Write the deferred ones among these claimed rows, send them in order, record each outcome;
    return how many left. Each row the mail server accepted is added to `delivered` at once, before
    it is marked sent: if the database goes away meanwhile, the caller still knows it left.
    """
    sent = 0
    delivered = [] if delivered is None else delivered
    rows = _write_deferred(rows)
    for index, email in enumerate(rows):
        try:
            _send(_message(email))
        except Exception as exc:  # noqa: BLE001 -- any SMTP or network failure is retried later
            drop_mail_connection()
            _record_failure(email, exc)
            if _server_trouble(exc):
                # The server is down or refusing everyone: the rest of the batch waits as long as
                # this row, without counting an attempt, instead of each failing in turn.
                _release(rows[index + 1 :], until=Email.objects.values_list("next_attempt_at", flat=True).get(pk=email.pk))
                break
            continue
        delivered.append(email.pk)
        Email.objects.filter(pk=email.pk).update(
            status=EmailStatus.SENT, sent_at=timezone.now(), last_error="", lease_until=None, claim=""
        )
        if (kind := kinds.kinds().get(email.kind)) is not None and kind.forget_when_sent:
            Email.objects.filter(pk=email.pk).update(
                to="", body_text="", body_html="", headers={}, dedupe_key=Concat(Value("sent:"), Cast("pk", CharField()))
            )
        sent += 1
    return sent


def _message(email: Email) -> EmailMultiAlternatives:
    message = EmailMultiAlternatives(
        subject=email.subject,
        body=email.body_text,
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=[email.to],
        headers={**email.headers, "Message-ID": message_id(email), "X-Presessions-Email": str(email.pk)},
    )
    if email.body_html:
        message.attach_alternative(email.body_html, "text/html")
    return message


def _write_deferred(rows: list[Email]) -> list[Email]:
    """
    Write the subject and bodies of the rows queued with render_later, and return the rows to send.

    The related objects are fetched in one query per kind and type, and the staff-edited
    templates in one query. A row whose object is gone, or whose kind says it should no longer
    leave (an erased application), is discarded; one that fails to render is a failed attempt.
    """
    deferred = [email for email in rows if not email.rendered]
    if not deferred:
        return rows
    overrides = {
        (t.name, t.language): t for t in EmailTemplate.objects.filter(active=True, name__in={email.kind for email in deferred})
    }
    groups: dict[tuple[str, int | None], list[Email]] = defaultdict(list)
    for email in deferred:
        groups[(email.kind, email.content_type_id)].append(email)
    dropped = set()
    for (name, content_type_id), emails in groups.items():
        kind = kinds.kinds().get(name)
        objects = {}
        if kind is not None and kind.context is not None and content_type_id is not None:
            query = ContentType.objects.get_for_id(content_type_id).model_class()._default_manager.all()
            if kind.related_query is not None:
                query = kind.related_query(query)
            objects = query.in_bulk({email.object_id for email in emails})
        for email in emails:
            related = objects.get(email.object_id)
            context = kind.context(related) if related is not None else None
            if context is None:
                dropped.add(email.pk)
                # Nothing of the recipient stays with it: the application may have been erased.
                Email.objects.filter(pk=email.pk).update(
                    status=EmailStatus.DISCARDED,
                    to="",
                    headers={},
                    lease_until=None,
                    claim="",
                    last_error="Not sent: what it was about was erased or deleted before it was written.",
                )
                continue
            try:
                email.subject, email.body_text, email.body_html = render_message(
                    name, context, email.language, override=overrides.get((name, email.language))
                )
            except Exception as exc:  # noqa: BLE001 -- a template that breaks fails this row, not the batch
                dropped.add(email.pk)
                _record_failure(email, exc)
                continue
            email.rendered = True
            Email.objects.filter(pk=email.pk).update(
                subject=email.subject, body_text=email.body_text, body_html=email.body_html, rendered=True
            )
    return [email for email in rows if email.pk not in dropped]


# Failures of the server or of our account on it, not of one message: the rest of the batch would
# fail the same way. A refused password or sender, a server without AUTH or STARTTLS, a refused
# greeting, 421 (closing) and 451/452 (local error, out of storage: "try later" for everyone).
SERVER_FAILURES = (
    smtplib.SMTPServerDisconnected,
    smtplib.SMTPConnectError,
    smtplib.SMTPHeloError,
    smtplib.SMTPAuthenticationError,
    smtplib.SMTPNotSupportedError,
    smtplib.SMTPSenderRefused,
)
SERVER_CODES = {421, 451, 452}


def _server_trouble(exc: Exception) -> bool:
    """A failure of the mail server, the way to it or our account on it, rather than of one message or recipient."""
    if isinstance(exc, SERVER_FAILURES):
        return True
    if isinstance(exc, smtplib.SMTPResponseException):
        return exc.smtp_code in SERVER_CODES
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        codes = {code for code, _message in exc.recipients.values()}
        return bool(codes) and codes <= SERVER_CODES
    return isinstance(exc, OSError) and not isinstance(exc, smtplib.SMTPException)


def _release(rows: list[Email], *, until: dt.datetime) -> None:
    """Give claimed rows back to the queue, due at `until`, as if this attempt had not been made."""
    if rows:
        Email.objects.filter(pk__in=[email.pk for email in rows], status=EmailStatus.SENDING).update(
            status=EmailStatus.QUEUED, attempts=F("attempts") - 1, next_attempt_at=until, lease_until=None, claim=""
        )


def message_id(email: Email) -> str:
    """
    The row's own Message-ID: the same every time this row is sent, so a message sent again after a
    crash is recognisably the same message (and mail clients show it once).
    """
    domain = parseaddr(settings.DEFAULT_FROM_EMAIL)[1].rpartition("@")[2] or "localhost"
    digest = hashlib.sha256(f"{email.pk}:{email.dedupe_key}".encode()).hexdigest()[:20]
    return f"<outbox.{email.pk}.{digest}@{domain}>"


def _send(message: EmailMultiAlternatives) -> None:
    """Send on the kept connection; if the server had closed it meanwhile, once more on a new one."""
    kept = getattr(_smtp, "connection", None)
    message.connection = _mail_connection()
    try:
        message.send()
    except smtplib.SMTPServerDisconnected:
        if message.connection is not kept:  # it was a new connection already
            raise
        drop_mail_connection()
        message.connection = _mail_connection()
        message.send()


def _record_failure(email: Email, exc: Exception) -> None:
    retries = backoff()
    if email.attempts >= len(retries) + 1:
        status, next_attempt = EmailStatus.FAILED, email.next_attempt_at
    else:
        status = EmailStatus.QUEUED
        next_attempt = timezone.now() + dt.timedelta(seconds=retries[email.attempts - 1])
    Email.objects.filter(pk=email.pk).update(
        status=status, next_attempt_at=next_attempt, last_error=f"{type(exc).__name__}: {exc}", lease_until=None, claim=""
    )
    logger.warning("Email %s failed (attempt %s): %s", email.pk, email.attempts, exc)
    if status == EmailStatus.FAILED:
        logger.error("Email %s (%s) failed for good after %s attempts.", email.pk, email.kind, email.attempts)
        tell_admins(
            "An email failed for good",
            f"The {email.kind} email {email.pk} to {email.to} could not be sent after {email.attempts} attempts: "
            f"{type(exc).__name__}. See {absolute_url(reverse('admin:outbox_email_change', args=[email.pk]))}",
        )


def recover_abandoned(moment: dt.datetime | None = None) -> int:
    """
    Queue again every row whose worker stopped while holding it (killed, or cut off from the database).

    The message may have left just before the worker stopped; it goes again with the same
    Message-ID, and the row counts the recovery so that coordinators and ADMINS can see it.
    """
    moment = moment or timezone.now()
    ids = list(Email.objects.abandoned(moment).values_list("pk", flat=True))
    recovered = Email.objects.filter(pk__in=ids, status=EmailStatus.SENDING, lease_until__lt=moment).update(
        status=EmailStatus.QUEUED, next_attempt_at=moment, lease_until=None, claim="", lease_expiries=F("lease_expiries") + 1
    )
    if recovered:
        logger.error("%d email(s) were held by a worker that stopped; they are sent again.", recovered)
        tell_admins(
            "Emails sent again after a worker stopped",
            f"{recovered} email(s) were held by a worker that stopped before it finished. They are being sent again, "
            "with the same Message-ID: a recipient may receive one twice. "
            f"See {absolute_url(reverse('admin:outbox_email_changelist'))}?trouble=retried",
        )
    return recovered


def tell_admins(subject: str, message: str) -> None:
    """Email the site's ADMINS directly (not through the outbox, which may be what is in trouble)."""
    mail_admins(subject, message, fail_silently=True)


def sweep_outbox() -> int:
    """Queue again what stopped workers abandoned, then send every queued row that is due; return how many left."""
    recover_abandoned()
    return relay()


def approve_drafts(queryset) -> int:
    """Approve draft emails (e.g. selection decisions); they still wait for "send". Discarded ones stay discarded."""
    return queryset.filter(status=EmailStatus.DRAFT).update(status=EmailStatus.APPROVED)


def send_approved(queryset) -> int:
    """Hand every approved email of `queryset` to Celery; return how many."""
    ids = list(queryset.filter(status=EmailStatus.APPROVED).values_list("pk", flat=True))
    Email.objects.filter(pk__in=ids, status=EmailStatus.APPROVED).update(
        status=EmailStatus.QUEUED, next_attempt_at=timezone.now()
    )
    if ids:
        transaction.on_commit(wake_relay)
    return len(ids)
