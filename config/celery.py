"""
The Celery application.

Without REDIS_URL, settings make every task run eagerly in the calling
process; with it, tasks go through Redis to `make worker`, and periodic tasks
are read by `make beat` from django-celery-beat's tables, where staff can see
and pause them in the admin.
"""

import os

from celery import Celery, signals
from django.db import close_old_connections

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

app = Celery("presessions")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@signals.task_prerun.connect
@signals.task_postrun.connect
def _close_old_database_connections(sender=None, **kwargs):
    """
    Treat each task like a request: keep the database connection for CONN_MAX_AGE seconds and
    drop it when it has failed, instead of Celery's default of a new connection for every task
    (a new PostgreSQL backend per email, which cost more than sending the email).
    """
    # An eager task runs inside its caller's request or transaction, which owns the connection.
    if not getattr(sender.request, "is_eager", False):
        close_old_connections()


@signals.task_prerun.connect
def _worker_seen(sender=None, **kwargs):
    """Every task a worker starts is a sign of life for the readiness check (config/health.py)."""
    if not getattr(sender.request, "is_eager", False):
        from config import health

        health.record(health.WORKER_KEY)


@app.task(name="config.heartbeat", ignore_result=True)
def heartbeat():
    """Sent by beat every few seconds (settings.PERIODIC_TASKS): running it is the sign of life (task_prerun)."""
