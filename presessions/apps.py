import datetime as dt

from django.apps import AppConfig
from django.conf import settings
from django.db.models.signals import post_delete, post_migrate, post_save
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from outbox import kinds

from . import caching


def install_periodic_tasks(sender, **kwargs):
    """Create the periodic tasks listed in settings.PERIODIC_TASKS, leaving existing ones as staff set them."""
    from django_celery_beat.models import IntervalSchedule, PeriodicTask  # models are not loaded when apps.py is imported

    for name, (task, seconds) in settings.PERIODIC_TASKS.items():
        if PeriodicTask.objects.filter(name=name).exists():
            continue
        schedule, _created = IntervalSchedule.objects.get_or_create(every=seconds, period=IntervalSchedule.SECONDS)
        PeriodicTask.objects.create(name=name, task=task, interval=schedule)


def register_placeholders() -> None:
    """The calendar's values that emails of other apps fill in, with examples for the outbox's preview."""
    kinds.register_placeholders(
        {
            "review.name": "Kenya",
            "session.number": 54,
            "call.closes_at": lambda: timezone.now() + dt.timedelta(days=7),
        }
    )


class PresessionsConfig(AppConfig):
    default = True
    name = "presessions"
    verbose_name = _("UPR calendar and Pre-sessions")

    def ready(self):
        # Models are not loaded when apps.py is imported.
        from .models import Call, CouncilSession, PrivacyNotice, Session, StateReview, Theme, forget_council_periods

        register_placeholders()
        post_migrate.connect(install_periodic_tasks, sender=self)
        # The calendar changed: serve public pages afresh.
        caching.refresh_on_change(Session, StateReview, Call, Theme, CouncilSession, PrivacyNotice)
        post_save.connect(forget_council_periods, sender=CouncilSession, dispatch_uid="council-periods-save")
        post_delete.connect(forget_council_periods, sender=CouncilSession, dispatch_uid="council-periods-delete")
