from django.apps import AppConfig
from django.db import transaction
from django.db.models.signals import post_delete, post_save
from django.utils.translation import gettext_lazy as _


def refresh_public_schedule(sender, **kwargs):
    """A panel member changed (confirmed, declined, removed, statement shown or hidden): serve afresh once committed."""
    from presessions.caching import bump

    transaction.on_commit(bump)


class PanelsConfig(AppConfig):
    name = "panels"
    verbose_name = _("Panels and schedules")

    def ready(self):
        from .models import PanelMember

        post_save.connect(refresh_public_schedule, sender=PanelMember, dispatch_uid="panels.member-saved")
        post_delete.connect(refresh_public_schedule, sender=PanelMember, dispatch_uid="panels.member-deleted")
