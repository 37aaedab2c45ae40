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


@pytest.mark.django_db(transaction=True)
def test_submissions_are_confirmed_through_the_relay_once_each(worker, client, kenya, smtp_sink, settings):
    """Issue 20: the requests only write rows and wake the relay; the worker writes and sends every confirmation."""
    import time

    from django.core.cache import cache

    from outbox.delivery import PENDING_KEY
    from outbox.enums import EmailStatus
    from outbox.models import Email
    from tests.factories import application_post

    settings.APPLICATION_RATELIMIT = "1000/m"
    cache.delete(PENDING_KEY)
    addresses = [f"relay-{index}@kenya.example.org" for index in range(12)]
    for index, address in enumerate(addresses):
        response = client.post("/sessions/60/apply/", application_post(kenya, email=address, **{"org-name": f"Org {index}"}))
        assert response.status_code == 302
    deadline = time.monotonic() + 30
    while len(smtp_sink.messages) < len(addresses) and time.monotonic() < deadline:
        time.sleep(0.1)
    time.sleep(0.5)  # anything sent twice would arrive now
    assert sorted(m.rcpt_tos[0] for m in smtp_sink.messages) == sorted(addresses)
    assert set(Email.objects.values_list("status", "rendered")) == {(EmailStatus.SENT, True)}
