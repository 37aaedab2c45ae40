"""A real Celery worker on a real Redis broker: skipped without Redis, failed under REQUIRE_SERVICES=1."""

import pytest
from celery.contrib.testing.worker import start_worker

from config.celery import app as celery_app
from outbox.tasks import ping

pytestmark = pytest.mark.services


@pytest.fixture
def worker(redis_url):
    conf = celery_app.conf
    saved = (conf.broker_url, conf.result_backend, conf.task_always_eager)
    conf.broker_url = redis_url
    conf.result_backend = redis_url
    conf.task_always_eager = False
    try:
        with start_worker(celery_app, pool="solo", perform_ping_check=False, shutdown_timeout=10):
            yield
    finally:
        conf.broker_url, conf.result_backend, conf.task_always_eager = saved


def test_a_task_goes_through_redis_to_a_worker_and_back(worker):
    result = ping.delay()
    assert result.get(timeout=20) == "pong"
    assert result.successful()
