import datetime as dt

from django.apps import AppConfig
from django.db.models.signals import post_delete, post_save
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from outbox import kinds, masking
from outbox.links import absolute_url


def refresh_public_schedule(sender, instance, **kwargs):
    """
    A speaker who is or may be public changed (confirmed, declined, removed, statement shown or
    hidden): serve the public schedule afresh once committed. Members nobody outside can see
    (reserves, speakers who have not confirmed) change nothing public, so recomposing a panel,
    which replaces all of them, does not empty every cache.
    """
    from presessions.caching import bump_on_commit

    if instance.confirmed_at is not None or instance.statement_public:
        bump_on_commit()


def refresh_after_a_decision(sender, instance, raw=False, **kwargs):
    """
    An application past the call changed (its status, or its consent to publication): a speaker's
    public presence may depend on it. Drafts and submissions, the bulk of deadline day, do not.
    """
    from applications.enums import ApplicationStatus
    from presessions.caching import bump_on_commit

    if not raw and instance.status not in ApplicationStatus.editable_states():
        bump_on_commit()


def register_emails() -> None:
    """Tell the outbox which emails this app sends and what their staff-edited versions may say."""
    for kind in ("decision-selected", "decision-reserve", "decision-not-selected"):
        kinds.register_kind(kind, family="decision")  # a later decision replaces an earlier one
    for kind in ("panel-message", "statement-reminder", "schedule-updated", "schedule-subscription-confirm"):
        kinds.register_kind(kind)
    kinds.register_placeholders(
        {
            "member.confirmation_deadline": lambda: timezone.now() + dt.timedelta(days=7),
            "release.name": "2",
            "subject": "Example subject",
            "body": "Example message.",
            "schedule_url": lambda: absolute_url(reverse("panels:changes", args=[54])),
        }
    )
    masking.register_private_prefix("schedule-alerts")


class PanelsConfig(AppConfig):
    name = "panels"
    verbose_name = _("Panels and schedules")

    def ready(self):
        from applications.models import Application

        from .models import PanelMember

        register_emails()
        post_save.connect(refresh_public_schedule, sender=PanelMember, dispatch_uid="panels.member-saved")
        post_delete.connect(refresh_public_schedule, sender=PanelMember, dispatch_uid="panels.member-deleted")
        post_save.connect(refresh_after_a_decision, sender=Application, dispatch_uid="panels.application-saved")
        post_delete.connect(refresh_after_a_decision, sender=Application, dispatch_uid="panels.application-deleted")
