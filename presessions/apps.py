import datetime as dt

from django.apps import AppConfig
from django.db.models.signals import post_migrate
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from outbox import kinds


def install_periodic_tasks(sender, **kwargs):
    """Create the periodic tasks listed in settings.PERIODIC_TASKS, leaving existing ones as staff set them."""
    from django.conf import settings
    from django_celery_beat.models import IntervalSchedule, PeriodicTask

    for name, (task, seconds) in settings.PERIODIC_TASKS.items():
        if PeriodicTask.objects.filter(name=name).exists():
            continue
        schedule, _created = IntervalSchedule.objects.get_or_create(every=seconds, period=IntervalSchedule.SECONDS)
        PeriodicTask.objects.create(name=name, task=task, interval=schedule)


def refresh_public_pages(sender, **kwargs):
    """
    The calendar changed: serve public pages afresh, once the change is committed. Bumping before the
    commit would let another process cache the old data under the new version for a minute.
    """
    from .caching import bump_on_commit

    bump_on_commit()


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
        from django.db.models.signals import post_delete, post_save

        from .models import Call, CouncilSession, Session, StateReview, Theme, forget_council_periods

        register_placeholders()
        post_migrate.connect(install_periodic_tasks, sender=self)
        for model in (Session, StateReview, Call, Theme, CouncilSession):
            post_save.connect(refresh_public_pages, sender=model, dispatch_uid=f"public-pages-{model.__name__}-save")
            post_delete.connect(refresh_public_pages, sender=model, dispatch_uid=f"public-pages-{model.__name__}-delete")
        post_save.connect(forget_council_periods, sender=CouncilSession, dispatch_uid="council-periods-save")
        post_delete.connect(forget_council_periods, sender=CouncilSession, dispatch_uid="council-periods-delete")
