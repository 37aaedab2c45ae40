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


class PanelsConfig(AppConfig):
    name = "panels"
    verbose_name = _("Panels and schedules")

    def ready(self):
        from .models import PanelMember

        post_save.connect(refresh_public_schedule, sender=PanelMember, dispatch_uid="panels.member-saved")
        post_delete.connect(refresh_public_schedule, sender=PanelMember, dispatch_uid="panels.member-deleted")
