from django.apps import AppConfig
from django.db.models.signals import post_delete, post_save
from django.utils.translation import gettext_lazy as _


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


class PanelsConfig(AppConfig):
    name = "panels"
    verbose_name = _("Panels and schedules")

    def ready(self):
        from applications.models import Application

        from .models import PanelMember

        post_save.connect(refresh_public_schedule, sender=PanelMember, dispatch_uid="panels.member-saved")
        post_delete.connect(refresh_public_schedule, sender=PanelMember, dispatch_uid="panels.member-deleted")
        post_save.connect(refresh_after_a_decision, sender=Application, dispatch_uid="panels.application-saved")
        post_delete.connect(refresh_after_a_decision, sender=Application, dispatch_uid="panels.application-deleted")
