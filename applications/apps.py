import datetime as dt

from django.apps import AppConfig
from django.db.models.signals import post_migrate, post_save
from django.urls import reverse
from django.utils import timezone
from django.utils.text import format_lazy
from django.utils.translation import gettext_lazy as _

from outbox import kinds, masking
from outbox.links import absolute_url
from presessions import page_links
from presessions.page_links import PageLink


def add_demo_applications(sender, session, seed, stdout=None, **kwargs):
    # The demo module imports models, which are not loaded when apps.py is imported.
    from .demo import generate_applications, generate_assessments, generate_assessor, generate_reviewers

    created = generate_applications(session, seed=seed)
    username, password, secret, states = generate_assessor(session)
    assessments = generate_assessments(session, seed=seed)
    generate_reviewers(session)
    if stdout is not None:
        stdout.write(f"Demo applications created: {created}; demo assessments: {assessments}")
        stdout.write(f"Assessor login at /admin/ -- username: {username}  password: {password}  (assesses {states})")
        stdout.write(
            f"Second factor: run `.venv/bin/python manage.py totp {username}` for the current code, "
            f"or add the secret {secret} to an authenticator app."
        )


def sync_coordinator_permissions(sender, **kwargs):
    """
    Give the Coordinator group every permission of the project's apps, after each migrate.

    The group was created by a data migration with the permissions that existed then; models
    added later (email templates, schedules, histories) would otherwise be closed to coordinators.
    """
    from django.contrib.auth.models import Group, Permission  # models are not loaded when apps.py is imported

    group = Group.objects.filter(name="Coordinator").first()
    if group is not None:
        group.permissions.add(*Permission.objects.filter(content_type__app_label__in=COORDINATOR_APPS))


COORDINATOR_APPS = ["applications", "presessions", "panels", "outbox"]


def give_call_a_rubric(sender, instance, created, raw=False, **kwargs):
    """Every new call starts with the default 2012 rubric, which coordinators can then edit."""
    if created and not raw:
        from .assessment import ensure_rubric  # imports models, which are not loaded when apps.py is imported

        ensure_rubric(instance)


def _deferred_email_context(application):
    """The context of an application's email written by the relay; None once the application is erased."""
    from .domain import email_context

    return None if application.erased_at else email_context(application)


def _for_emails(applications):
    return applications.select_related("organisation", "review__session__call")


def register_emails() -> None:
    """Tell the outbox which emails this app sends and what their staff-edited versions may say."""
    example_deadline = lambda: timezone.now() + dt.timedelta(days=7)  # noqa: E731
    for kind in (
        "application-received",
        "application-link",
        "application-withdrawn",
        "draft-saved",
        "deadline-reminder",
        "email-change-confirm",
        "email-changed",
        "new-link",
        "alert-confirm",
        "call-alert",
        "review-reminder",
    ):
        kinds.register_kind(kind)
    kinds.register_kind("erasure-receipt", forget_when_sent=True)
    # Written by the outbox's relay rather than in the request that submits or saves the form.
    for kind in ("application-received", "draft-saved"):
        kinds.register_kind(kind, context=_deferred_email_context, related_query=_for_emails)
    kinds.register_placeholders(
        {
            "organisation.name": "Example Human Rights Forum",
            "organisation.acronym": "EHRF",
            "application.speaker_name": "Wanjiru Kamau",
            "alert.country.name": "Kenya",
            "receipt": "E-1A2B3C4D5E",
            "erased_at": timezone.now,
            "new_email": "new-address@example.org",
            "deadline": example_deadline,
            "days": 7,
            "link": lambda: absolute_url(reverse("applications:detail", args=["EXAMPLE"])),
            "confirm_link": lambda: absolute_url(reverse("applications:confirm_email", args=["EXAMPLE"])),
            "apply_url": lambda: absolute_url(reverse("applications:apply", args=[54])) + "?state=KE",
            "unsubscribe_url": lambda: absolute_url(reverse("applications:reminders_off", args=["EXAMPLE"])),
        },
        private=("link", "confirm_link", "unsubscribe_url"),
    )
    masking.register_private_prefix("applications", "alerts")


def add_calendar_links() -> None:
    """What this app offers on the calendar's public pages: apply to an open call, and call alerts."""
    page_links.add_link(
        "open_call",
        lambda call, review=None, **context: PageLink(
            reverse("applications:apply", args=[call.session.number]) + (f"?state={review.country.code}" if review else ""),
            format_lazy(_("Apply to speak on {state}"), state=review.name) if review else _("Apply to speak"),
            primary=True,
        ),
    )
    page_links.add_link(
        "home",
        lambda **context: PageLink(
            reverse("applications:alert_subscribe"), _("Get an email when the call for your country opens")
        ),
    )
    page_links.add_link(
        "country",
        lambda code, name, **context: PageLink(
            reverse("applications:alert_subscribe") + f"?country={code}",
            format_lazy(_("Get an email when a call for {name} opens"), name=name),
        ),
    )


def recalibrate_call(sender, instance, raw=False, **kwargs):
    """A call's calibration settings may have changed: its session's calibrated scores follow, once saved."""
    from django.db import transaction

    from .reviewing import recalibrate_later

    session_id = getattr(instance, "session_id", None)
    if not raw and session_id:
        transaction.on_commit(lambda: recalibrate_later(session_id))


class ApplicationsConfig(AppConfig):
    name = "applications"
    verbose_name = _("Applications")

    def ready(self):
        from presessions.demo import demo_loaded  # imports models, which are not loaded when apps.py is imported
        from presessions.models import Call  # models are not loaded when apps.py is imported

        register_emails()
        add_calendar_links()
        demo_loaded.connect(add_demo_applications, dispatch_uid="applications.demo")
        # After every app's own post_migrate (which creates the permissions): connected without a sender.
        post_migrate.connect(sync_coordinator_permissions, dispatch_uid="applications.coordinator-permissions")
        post_save.connect(give_call_a_rubric, sender=Call, dispatch_uid="applications.rubric")
        post_save.connect(recalibrate_call, sender=Call, dispatch_uid="applications.recalibrate")
