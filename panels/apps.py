import datetime as dt

from django.apps import AppConfig
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from applications.enums import ApplicationStatus
from outbox import kinds, masking
from outbox.links import absolute_url
from presessions import caching, page_links
from presessions.page_links import PageLink


def register_emails() -> None:
    """Tell the outbox which emails this app sends and what their staff-edited versions may say."""
    for kind in ("decision-selected", "decision-reserve", "decision-not-selected"):
        kinds.register_kind(kind, family="decision")  # a later decision replaces an earlier one
    for kind in (
        "panel-message",
        "statement-reminder",
        "schedule-updated",
        "schedule-subscription-confirm",
        "speaker-erased",
        "mission-registration-confirm",
        "guest-list-due",
        "training-invitation",
        "visa-letter-ready",
        "visa-letter-refused",
    ):
        kinds.register_kind(kind)
    kinds.register_placeholders(
        {
            "member.confirmation_deadline": lambda: timezone.now() + dt.timedelta(days=7),
            "release.name": "2",
            "subject": "Example subject",
            "body": "Example message.",
            "schedule_url": lambda: absolute_url(reverse("panels:changes", args=[54])),
            "mission": "Kenya",
        }
    )
    masking.register_private_prefix("schedule-alerts")
    masking.register_private_prefix("mission-attendance")


def add_calendar_links() -> None:
    """What this app offers on a session's public page (its Pre-session schedule) and on an applicant's page."""
    page_links.add_link(
        "session",
        lambda session, **context: PageLink(reverse("panels:schedule", args=[session.number]), _("Pre-session schedule")),
    )
    page_links.add_link("applicant", participation_link)


def participation_link(application, token, **context) -> PageLink | None:
    """On an applicant's page, once told of a selection (or after declining): the participation page."""
    told = application.told and application.status in (ApplicationStatus.SELECTED, ApplicationStatus.RESERVE)
    if not told and application.status != ApplicationStatus.DECLINED:
        return None
    if application.status == ApplicationStatus.SELECTED:
        label = _("Confirm your participation and send your statement")
    else:
        label = _("Your participation")
    return PageLink(reverse("panels:participation", args=[token]), label, primary=True)


class PanelsConfig(AppConfig):
    name = "panels"
    verbose_name = _("Panels and schedules")

    def ready(self):
        from applications.models import Application  # models are not loaded when apps.py is imported
        from presessions.demo import demo_loaded

        from . import privacy
        from .demo import add_demo_past_session
        from .models import PanelMember  # models are not loaded when apps.py is imported

        register_emails()
        demo_loaded.connect(add_demo_past_session, dispatch_uid="panels.demo")
        add_calendar_links()
        privacy.register()
        # A speaker who is or may be public changed (confirmed, declined, removed, statement shown or
        # hidden): serve the public schedule afresh. Members nobody outside can see (reserves,
        # speakers who have not confirmed) change nothing public, so recomposing a panel, which
        # replaces all of them, does not empty every cache.
        caching.refresh_on_change(
            PanelMember, when=lambda member: member.confirmed_at is not None or member.statement_public, name="panels-member"
        )
        # An application past the call changed (its status, or its consent to publication): a
        # speaker's public presence may depend on it. Drafts and submissions, the bulk of deadline
        # day, do not.
        caching.refresh_on_change(
            Application,
            when=lambda application: application.status not in ApplicationStatus.editable_states(),
            name="panels-application",
        )
