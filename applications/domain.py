"""
What happens to an application: created, saved as a draft, submitted,
edited, withdrawn, reopened. Each function is one transaction and lists its
side effects; views only call them.

Deadlines are checked here, on the server, in UTC: a call is open from
`opens_at` included to `closes_at` excluded.
"""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from presessions.emails import queue_email

from .enums import ApplicationStatus
from .models import Application
from .tokens import make_token


class CallNotOpen(Exception):
    """The call is not open at this moment: nothing was saved."""


class DuplicateApplication(Exception):
    """The organisation's email already has an application for this State."""

    def __init__(self, existing: Application):
        super().__init__("duplicate application")
        self.existing = existing


def private_link(application: Application) -> str:
    return f"{settings.SITE_URL}/applications/{make_token(application)}/"


def _email_context(application: Application) -> dict:
    return {
        "application": application,
        "organisation": application.organisation,
        "review": application.review,
        "session": application.review.session,
        "call": application.call,
        "link": private_link(application),
    }


def _queue(application: Application, name: str, dedupe_key: str) -> None:
    queue_email(
        to=application.email,
        name=name,
        context=_email_context(application),
        language=application.language,
        dedupe_key=dedupe_key,
        related=application,
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
    if token and (same := Application.objects.filter(form_token=token).first()):
        return same
    if existing := Application.objects.filter(email=email, review=review).first():
        raise DuplicateApplication(existing)
    try:
        return _create(org_form, app_form, email=email, token=token, draft=draft, language=language, now=now)
    except IntegrityError:
        # A concurrent post won the race: it is either this same form again, or the same email.
        if token and (same := Application.objects.filter(form_token=token).first()):
            return same
        raise DuplicateApplication(Application.objects.get(email=email, review=review)) from None


@transaction.atomic
def _create(org_form, app_form, *, email, token, draft, language, now) -> Application:
    organisation = org_form.save()
    application = app_form.save(commit=False)
    application.organisation = organisation
    application.email = email
    application.form_token = token
    application.language = language
    application.status = ApplicationStatus.DRAFT if draft else ApplicationStatus.SUBMITTED
    application.submitted_at = None if draft else now
    application.save()
    app_form.save_m2m()
    if draft:
        _queue(application, "draft-saved", f"draft-saved:{application.pk}")
    else:
        _queue(application, "application-received", f"application-received:{application.pk}")
    return application


def email_taken(*, email: str, review, exclude: Application) -> bool:
    return Application.objects.filter(email=email.strip().lower(), review=review).exclude(pk=exclude.pk).exists()


@transaction.atomic
def update_application(
    application: Application, *, org_form, app_form, submit: bool, now: dt.datetime | None = None
) -> Application:
    """
    Save an edit made through the private link, before the deadline.

    Side effects, in order: the organisation and the application are saved;
    if a draft is being submitted, its status and submission time are set and
    the confirmation email is queued. Raise CallNotOpen after the close, and
    leave the stored application exactly as it was.
    """
    now = now or timezone.now()
    locked = Application.objects.select_for_update().get(pk=application.pk)
    if locked.status not in ApplicationStatus.editable_states():
        raise CallNotOpen()
    _require_open_call(locked.review, now)
    _require_open_call(app_form.cleaned_data["review"], now)
    org_form.save()
    application = app_form.save(commit=False)
    application.email = org_form.cleaned_data["email"]
    if submit and application.status == ApplicationStatus.DRAFT:
        application.status = ApplicationStatus.SUBMITTED
        application.submitted_at = now
    application.save()
    app_form.save_m2m()
    if application.status == ApplicationStatus.SUBMITTED:
        _queue(application, "application-received", f"application-received:{application.pk}")
    return application


@transaction.atomic
def withdraw_application(application: Application, *, now: dt.datetime | None = None) -> Application:
    """Withdraw a draft or a submitted application; queue the confirmation. Withdrawing twice does nothing."""
    locked = Application.objects.select_for_update().get(pk=application.pk)
    if locked.status not in ApplicationStatus.editable_states():
        return locked
    locked.status = ApplicationStatus.WITHDRAWN
    locked.withdrawn_at = now or timezone.now()
    locked.save(update_fields=["status", "withdrawn_at", "updated_at"])
    _queue(locked, "application-withdrawn", f"application-withdrawn:{locked.pk}:{locked.withdrawn_at.isoformat()}")
    return locked


@transaction.atomic
def reopen_application(application: Application, *, now: dt.datetime | None = None) -> Application:
    """Turn a withdrawn application back into a draft, while the call is open."""
    now = now or timezone.now()
    locked = Application.objects.select_for_update().get(pk=application.pk)
    _require_open_call(locked.review, now)
    if locked.status == ApplicationStatus.WITHDRAWN:
        locked.status = ApplicationStatus.DRAFT
        locked.withdrawn_at = None
        locked.submitted_at = None
        locked.save(update_fields=["status", "withdrawn_at", "submitted_at", "updated_at"])
    return locked


def send_link_again(application: Application, *, now: dt.datetime | None = None) -> None:
    """Email the private link to the address on file, at most once an hour."""
    now = now or timezone.now()
    _queue(application, "application-link", f"application-link:{application.pk}:{now:%Y%m%d%H}")
