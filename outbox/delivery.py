"""
Delivery: render, queue and send every email the product sends.

- `render_message(name, context, language)` renders
  templates/emails/{name}-subject.txt, -body.txt and -body.html.
- `queue_email(...)` writes an Email row inside the caller's transaction and
  hands it to Celery once that transaction commits.
- `send_email(pk)` claims one row and sends it; `sweep_outbox()` sends every
  row that is due, and runs every minute under Celery beat.
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
import smtplib
import threading
import time
from collections.abc import Callable
from email.utils import parseaddr

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.mail import EmailMultiAlternatives, get_connection, mail_admins
from django.core.mail.backends.smtp import EmailBackend as SMTPBackend
from django.db import IntegrityError, transaction
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


SWEEP_BATCH = 500


def render_message(name: str, context: dict, language: str) -> tuple[str, str, str]:
    """
    Render an email's subject, text body and (optional) HTML body in `language`.

    A template edited by staff in the admin (EmailTemplate) wins over the file templates. One
    the sandbox refuses (a row saved without the admin's checks, or from before them) is
    logged and skipped: the file template is used instead, so the email still leaves and shows
    nothing but its own recipient's values.
    """
    context = {"contact_email": settings.CONTACT_EMAIL, "site_url": site_url(), **context}
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
) -> Email:
    """
    Queue one email, at most once per `dedupe_key`.

    Side effects, in order: an Email row in the current transaction (or the
    existing row with the same key, unchanged); then, on commit and unless
    `draft`, a Celery task that sends it.

    `new_key` says that no row can have this key yet (it names an object created in the same
    transaction): the row is then inserted without looking for an earlier one first.
    """
    if not new_key and (existing := Email.objects.filter(dedupe_key=dedupe_key).first()):
        return existing
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
        transaction.on_commit(lambda: enqueue_send(email.pk))
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


def enqueue_send(email_id: int) -> None:
    """Hand a row to Celery; if the broker is down, leave it for the sweep."""
    global _broker_down_until
    from .tasks import task_send_email  # the tasks module imports this one

    if time.monotonic() < _broker_down_until:
        return
    try:
        task_send_email.delay(email_id=email_id)
    except Exception:  # noqa: BLE001 -- any broker failure: the sweep sends it later
        if _broker_down_until == 0.0:
            logger.warning("Could not hand email %s to Celery; the outbox sweep will send it.", email_id, exc_info=True)
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
    for email_id in ids:
        transaction.on_commit(lambda email_id=email_id: enqueue_send(email_id))
    return len(ids)


def _claim(email_id: int) -> Email | None:
    """
    Mark a due row as sending and return it, or None if it is not ours to send.

    The conditional UPDATE is the claim: when two workers (or a worker and the sweep) race for
    the same row, PostgreSQL makes the second wait for the first and then re-check the WHERE
    clause, and SQLite runs one write at a time, so exactly one of them sees "1 row".
    """
    now = timezone.now()
    claimed = Email.objects.filter(pk=email_id, status=EmailStatus.QUEUED, next_attempt_at__lte=now).update(
        status=EmailStatus.SENDING,
        attempts=F("attempts") + 1,
        lease_until=now + dt.timedelta(seconds=settings.OUTBOX_LEASE_SECONDS),
    )
    if not claimed:
        return None
    return Email.objects.get(pk=email_id)


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
    email = _claim(email_id)
    if email is None:
        return False
    message = EmailMultiAlternatives(
        subject=email.subject,
        body=email.body_text,
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=[email.to],
        headers={**email.headers, "Message-ID": message_id(email), "X-Presessions-Email": str(email.pk)},
    )
    if email.body_html:
        message.attach_alternative(email.body_html, "text/html")
    try:
        _send(message)
    except Exception as exc:  # noqa: BLE001 -- any SMTP or network failure is retried later
        drop_mail_connection()
        _record_failure(email, exc)
        return False
    Email.objects.filter(pk=email.pk).update(status=EmailStatus.SENT, sent_at=timezone.now(), last_error="", lease_until=None)
    if (kind := kinds.kinds().get(email.kind)) is not None and kind.forget_when_sent:
        Email.objects.filter(pk=email.pk).update(
            to="", body_text="", body_html="", headers={}, dedupe_key=Concat(Value("sent:"), Cast("pk", CharField()))
        )
    return True


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
        status=status, next_attempt_at=next_attempt, last_error=f"{type(exc).__name__}: {exc}", lease_until=None
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
        status=EmailStatus.QUEUED, next_attempt_at=moment, lease_until=None, lease_expiries=F("lease_expiries") + 1
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


def sweep_outbox(limit: int = SWEEP_BATCH) -> int:
    """Queue again what stopped workers abandoned, then send every queued row that is due; return how many left."""
    recover_abandoned()
    ids = list(Email.objects.due().order_by("next_attempt_at").values_list("pk", flat=True)[:limit])
    return sum(send_email(email_id) for email_id in ids)


def approve_drafts(queryset) -> int:
    """Approve draft emails (e.g. selection decisions); they still wait for "send". Discarded ones stay discarded."""
    return queryset.filter(status=EmailStatus.DRAFT).update(status=EmailStatus.APPROVED)


def send_approved(queryset) -> int:
    """Hand every approved email of `queryset` to Celery; return how many."""
    ids = list(queryset.filter(status=EmailStatus.APPROVED).values_list("pk", flat=True))
    Email.objects.filter(pk__in=ids, status=EmailStatus.APPROVED).update(
        status=EmailStatus.QUEUED, next_attempt_at=timezone.now()
    )
    for email_id in ids:
        transaction.on_commit(lambda email_id=email_id: enqueue_send(email_id))
    return len(ids)
