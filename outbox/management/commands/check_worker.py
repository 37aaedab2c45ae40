from celery.exceptions import TimeoutError as CeleryTimeoutError
from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from outbox.tasks import ping


class Command(BaseCommand):
    help = "Send a task through the broker and wait for a worker to answer it."

    def add_arguments(self, parser):
        parser.add_argument("--timeout", type=float, default=10.0)

    def handle(self, *args, timeout=10.0, **options):
        if settings.CELERY_TASK_ALWAYS_EAGER:
            self.stdout.write("REDIS_URL is not set: tasks run eagerly in the web process, no worker is needed.")
        try:
            answer = ping.delay().get(timeout=timeout)
        except CeleryTimeoutError as exc:
            raise CommandError(f"No worker answered within {timeout:g} s.") from exc
        self.stdout.write(self.style.SUCCESS(f"Worker answered: {answer}"))
