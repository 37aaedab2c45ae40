"""Celery beat outlasts a database outage: it keeps the schedule it read, and reads again afterwards."""

import datetime as dt
import logging
import os

import pytest
from django.db import connection

from bench.services import free_port
from config.beat import ResilientDatabaseScheduler
from config.celery import app as celery_app
from tests.conftest import service_unavailable


@pytest.mark.django_db(transaction=True)
def test_beat_keeps_its_schedule_while_the_database_is_away(caplog):
    if not os.environ.get("DATABASE_URL", "").startswith(("postgres", "postgresql")):
        service_unavailable("the database outage is staged on PostgreSQL (DATABASE_URL)")
    from presessions.apps import install_periodic_tasks

    install_periodic_tasks(sender=None)
    scheduler = ResilientDatabaseScheduler(app=celery_app)
    # A full read first: the scheduler writes its default entries (e.g. celery.backend_cleanup when
    # results expire) on start-up, after its first in-memory read.
    scheduler._last_full_sync = dt.datetime.now() - dt.timedelta(minutes=10)
    before = set(scheduler.schedule)
    assert "Send queued emails" in before
    port = connection.settings_dict["PORT"]
    caplog.set_level(logging.WARNING, logger="config.beat")
    try:
        connection.close()
        connection.settings_dict["PORT"] = free_port()  # nothing listens there: every query fails
        for _ in range(3):
            scheduler._last_full_sync = dt.datetime.now() - dt.timedelta(minutes=10)  # forces a full read
            assert set(scheduler.schedule) == before  # the stock scheduler raises here, and beat exits
    finally:
        connection.close()
        connection.settings_dict["PORT"] = port
    assert len([r for r in caplog.records if "cannot read" in r.getMessage()]) == 1
    scheduler._last_full_sync = dt.datetime.now() - dt.timedelta(minutes=10)
    assert set(scheduler.schedule) == before
    assert any("reads the periodic tasks again" in r.getMessage() for r in caplog.records)
