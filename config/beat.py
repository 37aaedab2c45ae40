"""
Celery beat's scheduler: django-celery-beat's, made to outlast a database outage.

The stock DatabaseScheduler re-reads its periodic tasks from the database every few minutes and
exits when that read fails: after a long enough PostgreSQL outage, beat is gone, and with it the
outbox sweep, reminders and expiries, until someone restarts it. This one keeps the schedule it
last read, logs the outage once, and reads again at the next chance.
"""

from __future__ import annotations

import logging
import time

from django.db import DatabaseError, InterfaceError, connection
from django_celery_beat.schedulers import DatabaseScheduler

logger = logging.getLogger(__name__)


class ResilientDatabaseScheduler(DatabaseScheduler):
    _database_away = False
    _last_recorded = 0.0

    def tick(self, *args, **kwargs):
        # A sign of life for the readiness check, at most every few seconds (config/health.py).
        if time.monotonic() - self._last_recorded >= 5:
            from config import health

            health.record(health.BEAT_KEY)
            self._last_recorded = time.monotonic()
        return super().tick(*args, **kwargs)

    def all_as_schedule(self):
        try:
            schedule = super().all_as_schedule()
        except (DatabaseError, InterfaceError) as error:
            connection.close()
            if not self._database_away:
                logger.error("Beat cannot read the periodic tasks (%s); it keeps the last schedule it read.", error)
            self._database_away = True
            if self._schedule is None:
                self._initial_read = True  # nothing read yet: try again at the next tick
            return self._schedule or {}
        if self._database_away:
            logger.warning("Beat reads the periodic tasks again.")
            self._database_away = False
        return schedule
