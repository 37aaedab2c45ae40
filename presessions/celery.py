"""
The Celery application.

Without REDIS_URL, settings make every task run eagerly in the calling
process; with it, tasks go through Redis to `make worker`, and periodic tasks
are read by `make beat` from django-celery-beat's tables, where staff can see
and pause them in the admin.
"""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "presessions.settings")

app = Celery("presessions")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
