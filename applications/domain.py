"""
What happens to an application: created, saved as a draft, submitted,
edited, withdrawn, reopened. Each function is one transaction and lists its
side effects; views only call them.

Deadlines are checked here, on the server, in UTC: a call is open from
`opens_at` included to `closes_at` excluded.
"""

from __future__ import annotations

import datetime as dt
import functools

from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone

from outbox.delivery import queue_each, queue_email
from outbox.links import absolute, dedupe_key, fingerprint
from presessions.models import Call, current_privacy_version

from . import identity
from .enums import ApplicationStatus
from .models import Application, CallAlert, new_link_key
from .tokens import ALERT_SALT, EMAIL_CHANGE_SALT, UNSUBSCRIBE_SALT, make_token, sign
from .transitions import change_status


class CallNotOpen(Exception):
    """The call is not open at this moment: nothing was saved."""


class DuplicateApplication(Exception):
    """The organisation's email already has an application for this State."""

    def __init__(self, existing: Application):
        super().__init__("duplicate application")
        self.existing = existing


def private_link(application: Application) -> str:
    return absolute("applications:detail", make_token(application))


def email_context(application: Application) -> dict:
    """What an email about `application` may say: the application, its organisation, State, session, call and private link."""
    return {
        "application": application,
        "organisation": application.organisation,
        "review": application.review,
        "session": application.review.session,
        "call": application.call,
        "link": private_link(application),
    }


def _queue(application: Application, name: str, dedupe_key: str, *, new_key: bool = False, render_later: bool = False) -> None:
    queue_email(
        to=application.email,
        name=name,
        context=None if render_later else email_context(application),
        language=application.language,
        dedupe_key=dedupe_key,
        related=application,
        new_key=new_key,
        render_later=render_later,
    )


def _require_open_call(review, now: dt.datetime) -> None:
    call = review.session.call_or_none
    if call is None or call.state(now) != "open":
        raise CallNotOpen()


def create_application(*, org_form, app_form, draft: bool, language: str, now: dt.datetime | None = None) -> Application:
    """
    Create an application from two valid forms, once.

    Side effects, in order: the organisation, the application (a draft or
    submitted) and its themes, then the confirmation email (or, for a draft,
    the email with the link to finish it). A repeated post of the same form
    (a double click) returns the application the first post created. Raise
    CallNotOpen outside the call's window and DuplicateApplication when the
    email already applied for this State; nothing is saved then.
    """
    now = now or timezone.now()
    review = app_form.cleaned_data["review"]
    email = org_form.cleaned_data["email"].strip().lower()
    token = app_form.cleaned_data.get("form_token")
    _require_open_call(review, now)
    # One query for both checks: this same form posted again, or this email already applied.
    same_email = Q(email=email, review=review)
    earlier = list(Application.objects.filter(same_email | Q(form_token=token) if token else same_email)[:2])
    if same := next((a for a in earlier if token and a.form_token == token), None):
        return same
    if earlier:
        raise DuplicateApplication(earlier[0])
    try:
        return _create(org_form, app_form, email=email, token=token, draft=draft, language=language, now=now)
    except IntegrityError:
        # A concurrent post won the race: it is either this same form again, or the same email.
        if token and (same := Application.objects.filter(form_token=token).first()):
            return same
        raise DuplicateApplication(Application.objects.get(email=email, review=review)) from None


@transaction.atomic
def _create(org_form, app_form, *, email, token, draft, language, now) -> Application:
    organisation = identity.attach(org_form.save())
    application = app_form.save(commit=False)
    application.organisation = organisation
    application.email = email
    application.form_token = token
    application.language = language
    application.status = ApplicationStatus.DRAFT if draft else ApplicationStatus.SUBMITTED
    application.submitted_at = None if draft else now
    _record_consent(application)
    # An organisation that matched no earlier one has no other application: this one is its first.
    known = bool(organisation.identity_reason)
    if not draft and not known:
        application.first_time = True
    application.save()
    # The application is new: add() is one insert, where the form's save_m2m() (a set()) first reads the existing themes.
    application.themes.add(*app_form.cleaned_data.get("themes") or [])
    # The keys contain the new application's id, so no earlier email can have them. The emails are
    # written by the outbox's relay, after the applicant has their answer.
    if draft:
        _queue(application, "draft-saved", dedupe_key("draft-saved", application.pk), new_key=True, render_later=True)
    else:
        if known:
            identity.refresh_first_time([organisation.root_id])
        _queue(
            application,
            "application-received",
            dedupe_key("application-received", application.pk),
            new_key=True,
            render_later=True,
        )
    return application


def _record_consent(application: Application) -> None:
    """Record the version of the privacy notice the applicant agreed to: the one the form linked to when they saved it."""
    application.privacy_version = current_privacy_version() if application.consent_data else None


def email_taken(*, email: str, review, exclude: Application) -> bool:
    return Application.objects.filter(email=email.strip().lower(), review=review).exclude(pk=exclude.pk).exists()


EMAIL_CHANGE_DAYS = 3


def email_change_link(application: Application) -> str:
    return absolute("applications:confirm_email", sign(application.pending_email_key, EMAIL_CHANGE_SALT))


@transaction.atomic
def request_email_change(application: Application, new_email: str, *, now: dt.datetime | None = None) -> None:
    """
    Ask the owner of `new_email` to confirm it as the application's address.

    Side effects, in order: the new address is kept as pending, with a new key
    (an earlier request's link stops working); a confirmation link, valid for
    three days, is emailed to the new address. Nothing tells the requester
    whether that address has applied for the State: only its owner learns it.
    """
    now = now or timezone.now()
    Application.objects.filter(pk=application.pk).update(
        pending_email=new_email.strip().lower(), pending_email_key=new_link_key(), pending_email_at=now
    )
    application.refresh_from_db()
    queue_email(
        to=application.pending_email,
        name="email-change-confirm",
        # Not the private link: the new address has not been confirmed yet.
        context={
            **{k: v for k, v in email_context(application).items() if k != "link"},
            "confirm_link": email_change_link(application),
            "days": EMAIL_CHANGE_DAYS,
        },
        language=application.language,
        dedupe_key=dedupe_key("email-change-confirm", application.pk, fingerprint(application.pending_email_key)),
        related=application,
    )


class EmailChangeExpired(Exception):
    """The confirmation link is older than EMAIL_CHANGE_DAYS, or a newer request replaced it."""


@transaction.atomic
def confirm_email_change(application: Application, *, now: dt.datetime | None = None) -> bool:
    """
    Make the pending address the application's (and its organisation's) email; return True if it changed.

    Side effects, in order: the new address on the application and its organisation; a new
    private link (the old one stops working), emailed to the new address; a notice to the old one.
    If that address already has an application for the State, nothing changes: the link to that
    other application is emailed to the address instead (its owner is the one confirming), and
    False is returned. Raise EmailChangeExpired for a stale link.
    """
    now = now or timezone.now()
    locked = Application.objects.select_for_update().select_related("organisation", "review").get(pk=application.pk)
    if not locked.pending_email or locked.pending_email_at + dt.timedelta(days=EMAIL_CHANGE_DAYS) < now:
        raise EmailChangeExpired()
    new_email, old_email = locked.pending_email, locked.email
    other = Application.objects.filter(email=new_email, review=locked.review).exclude(pk=locked.pk).first()
    Application.objects.filter(pk=locked.pk).update(pending_email="", pending_email_key="", pending_email_at=None)
    if other is not None:
        send_link_again(other, now=now)
        return False
    locked.email = new_email
    locked.pending_email, locked.pending_email_key, locked.pending_email_at = "", "", None
    # A new key: whoever read the old mailbox loses the application with it.
    locked.link_key = new_link_key()
    locked.save(update_fields=["email", "link_key", "pending_email", "pending_email_key", "pending_email_at", "updated_at"])
    locked.organisation.email = new_email
    locked.organisation.save(update_fields=["email"])
    _queue(locked, "new-link", dedupe_key("new-link", locked.pk, fingerprint(locked.link_key)), new_key=True)
    queue_email(
        to=old_email,
        name="email-changed",
        context={**email_context(locked), "new_email": new_email},
        language=locked.language,
        dedupe_key=dedupe_key("email-changed", locked.pk, now.isoformat()),
        related=locked,
    )
    return True


@transaction.atomic
def update_application(
    application: Application, *, org_form, app_form, submit: bool, now: dt.datetime | None = None
) -> Application:
    """
    Save an edit made through the private link, before the deadline.

    Side effects, in order: the organisation and the application are saved,
    with the email they had (a new email waits for its owner's confirmation:
    see request_email_change); if a draft is being submitted, its status and
    submission time are set and the confirmation email is queued. Raise
    CallNotOpen after the close, and leave the stored application exactly as
    it was.
    """
    now = now or timezone.now()
    locked = Application.objects.select_for_update().get(pk=application.pk)
    if locked.status not in ApplicationStatus.editable_states():
        raise CallNotOpen()
    _require_open_call(locked.review, now)
    _require_open_call(app_form.cleaned_data["review"], now)
    org_form.instance.email = locked.organisation.email
    org_form.save()
    application = app_form.save(commit=False)
    application.email = locked.email
    # The status is not a form field: it keeps the stored value and changes only through change_status.
    application.status = locked.status
    _record_consent(application)
    application.save()
    app_form.save_m2m()
    if submit and application.status == ApplicationStatus.DRAFT:
        application.submitted_at = now
        change_status(application, ApplicationStatus.SUBMITTED, reason="submitted by the applicant", fields=("submitted_at",))
        identity.refresh_first_time([application.organisation.root_id])
    if application.status == ApplicationStatus.SUBMITTED:
        _queue(application, "application-received", dedupe_key("application-received", application.pk), render_later=True)
    return application


@transaction.atomic
def withdraw_application(application: Application, *, now: dt.datetime | None = None) -> Application:
    """Withdraw a draft or a submitted application; queue the confirmation. Withdrawing twice does nothing."""
    locked = Application.objects.select_for_update().get(pk=application.pk)
    if locked.status not in ApplicationStatus.editable_states():
        return locked
    locked.withdrawn_at = now or timezone.now()
    change_status(locked, ApplicationStatus.WITHDRAWN, reason="withdrawn by the applicant", fields=("withdrawn_at",))
    _queue(locked, "application-withdrawn", dedupe_key("application-withdrawn", locked.pk, locked.withdrawn_at.isoformat()))
    return locked


@transaction.atomic
def reopen_application(application: Application, *, now: dt.datetime | None = None) -> Application:
    """Turn a withdrawn application back into a draft, while the call is open."""
    now = now or timezone.now()
    locked = Application.objects.select_for_update().get(pk=application.pk)
    _require_open_call(locked.review, now)
    if locked.status == ApplicationStatus.WITHDRAWN:
        locked.withdrawn_at = None
        locked.submitted_at = None
        change_status(
            locked, ApplicationStatus.DRAFT, reason="reopened by the applicant", fields=("withdrawn_at", "submitted_at")
        )
    return locked


def send_link_again(application: Application, *, now: dt.datetime | None = None) -> None:
    """Email the private link to the address on file, at most once an hour."""
    now = now or timezone.now()
    _queue(application, "application-link", dedupe_key("application-link", application.pk, f"{now:%Y%m%d%H}"))


# Reminders and alerts: the non-transactional emails. Each carries an
# unsubscribe link and a List-Unsubscribe header.

REMINDER_DAYS = (7, 2)


def reminders_off_url(application: Application) -> str:
    return absolute("applications:reminders_off", sign(application.link_key, UNSUBSCRIBE_SALT))


def send_deadline_reminders(*, now: dt.datetime | None = None) -> int:
    """
    Remind holders of unfinished drafts 7 days and 2 days before their call closes.

    Each draft gets each reminder at most once (the outbox's dedupe key); a
    draft started inside the last 2 days gets only the 2-day one. Return how
    many reminders were queued.
    """
    now = now or timezone.now()
    drafts = (
        Application.objects.filter(
            status=ApplicationStatus.DRAFT,
            reminders_opt_out=False,
            review__session__call__opens_at__lte=now,
            review__session__call__closes_at__gt=now,
            review__session__call__closes_at__lte=now + dt.timedelta(days=max(REMINDER_DAYS)),
        )
        .select_related("organisation", "review__session__call")
        .order_by("pk")
    )

    def reminder(application: Application, days: int) -> dict:
        return {
            "to": application.email,
            "name": "deadline-reminder",
            "context": {**email_context(application), "days": days, "unsubscribe_url": reminders_off_url(application)},
            "language": application.language,
            "related": application,
            "unsubscribe_url": reminders_off_url(application),
        }

    messages = {}
    for application in drafts:
        left = application.call.closes_at - now
        days = min(d for d in REMINDER_DAYS if left <= dt.timedelta(days=d))
        messages[dedupe_key(f"deadline-reminder-{days}", application.pk)] = functools.partial(reminder, application, days)
    return queue_each(messages)


def stop_reminders(application: Application) -> None:
    Application.objects.filter(pk=application.pk).update(reminders_opt_out=True)


def alert_unsubscribe_url(alert: CallAlert) -> str:
    return absolute("applications:alert_unsubscribe", sign(alert.key, ALERT_SALT))


@transaction.atomic
def subscribe_to_call_alert(*, email: str, country: str, language: str) -> CallAlert:
    """
    Record a request for an alert and email the confirmation link (double opt-in).

    Asking again re-sends the confirmation (at most once an hour) and
    re-activates an alert that was unsubscribed; it never creates a second row.
    """
    email = email.strip().lower()
    alert = CallAlert.objects.select_for_update().filter(email=email, country=country).first()
    if alert is None:
        alert = CallAlert.objects.create(email=email, country=country, language=language)
    elif alert.unsubscribed_at:
        alert.unsubscribed_at = None
        alert.confirmed_at = None
        alert.language = language
        alert.save(update_fields=["unsubscribed_at", "confirmed_at", "language"])
    if alert.confirmed_at is None:
        queue_email(
            to=alert.email,
            name="alert-confirm",
            context={"alert": alert, "link": absolute("applications:alert_confirm", sign(alert.key, ALERT_SALT))},
            language=alert.language,
            dedupe_key=dedupe_key("alert-confirm", alert.pk, f"{timezone.now():%Y%m%d%H}"),
            related=alert,
        )
    return alert


def confirm_call_alert(alert: CallAlert) -> None:
    CallAlert.objects.filter(pk=alert.pk, confirmed_at__isnull=True).update(confirmed_at=timezone.now())


def unsubscribe_call_alert(alert: CallAlert) -> None:
    CallAlert.objects.filter(pk=alert.pk, unsubscribed_at__isnull=True).update(unsubscribed_at=timezone.now())


def send_call_alerts(*, now: dt.datetime | None = None) -> int:
    """Email each confirmed subscriber once when a call that covers their country is open."""
    now = now or timezone.now()

    def alert_email(call: Call, review, alert: CallAlert) -> dict:
        return {
            "to": alert.email,
            "name": "call-alert",
            "context": {
                "call": call,
                "session": call.session,
                "review": review,
                "apply_url": absolute("applications:apply", call.session.number, query={"state": alert.country.code}),
                "unsubscribe_url": alert_unsubscribe_url(alert),
            },
            "language": alert.language,
            "related": alert,
            "unsubscribe_url": alert_unsubscribe_url(alert),
        }

    queued = 0
    for call in Call.objects.open_at(now).select_related("session").prefetch_related("session__reviews"):
        reviews = {review.country.code: review for review in call.session.reviews.all() if review.takes_place}
        alerts = CallAlert.objects.active().filter(country__in=list(reviews)).order_by("pk")
        queued += queue_each(
            {
                dedupe_key("call-alert", alert.pk, call.pk): functools.partial(
                    alert_email, call, reviews[alert.country.code], alert
                )
                for alert in alerts
            }
        )
    return queued
