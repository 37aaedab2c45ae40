"""/readyz: 200 when every part answers, 503 naming the part that does not, and nothing secret either way."""

import json
import time

import pytest

from bench.services import free_port
from config import health


@pytest.fixture(autouse=True)
def _fresh_clients():
    health._redis.cache_clear()
    yield
    health._redis.cache_clear()


def _ready(client):
    response = client.get("/readyz")
    assert response["Content-Type"] == "application/json"
    assert response["Cache-Control"] == "no-store"
    assert "Set-Cookie" not in response
    return response.status_code, json.loads(response.content)


@pytest.mark.django_db
def test_without_redis_only_the_database_is_checked(client, settings):
    settings.REDIS_URL = ""
    status, body = _ready(client)
    assert status == 200
    assert body["status"] == "ok"
    assert list(body["checks"]) == ["database"]
    assert client.head("/readyz").status_code == 200
    assert client.post("/readyz").status_code == 405


@pytest.mark.django_db
def test_redis_away_is_unhealthy_and_names_no_address(client, settings, mailoutbox, caplog):
    settings.ADMINS = [("Ops", "ops@example.org")]
    dead = f"redis://:hunter2-secret@127.0.0.1:{free_port()}/0"
    settings.REDIS_URL = dead
    settings.CELERY_BROKER_URL = dead
    settings.CACHES = {"default": {"BACKEND": "config.cache.ResilientRedisCache", "LOCATION": dead}}
    status, body = _ready(client)
    assert status == 503
    assert body["status"] == "unhealthy"
    assert body["checks"]["database"]["ok"] is True
    for name in ("cache", "broker", "worker", "beat"):
        assert body["checks"][name]["ok"] is False, name
    # The load balancer's check: this web server still serves pages without Redis.
    response = client.get("/readyz/web")
    assert response.status_code == 200
    assert list(json.loads(response.content)["checks"]) == ["database"]
    assert body["checks"]["cache"]["error"] == "ConnectionError"
    text = json.dumps(body)
    assert "127.0.0.1" not in text and "hunter2" not in text and "redis://" not in text
    # A monitor polling an outage does not mail ADMINS a server error every few seconds.
    assert not [record for record in caplog.records if record.name == "django.request"]
    assert mailoutbox == []


@pytest.mark.django_db
def test_worker_and_beat_must_have_been_seen_recently(client, settings, redis_url):
    import redis

    settings.REDIS_URL = redis_url
    settings.CELERY_BROKER_URL = redis_url
    settings.CACHES = {"default": {"BACKEND": "config.cache.ResilientRedisCache", "LOCATION": redis_url}}
    connection = redis.Redis.from_url(redis_url)
    connection.delete(health.WORKER_KEY, health.BEAT_KEY)
    status, body = _ready(client)
    assert status == 503
    assert body["checks"]["worker"] == {"ok": False, "seen_seconds_ago": None, "ms": body["checks"]["worker"]["ms"]}
    health.record(health.WORKER_KEY)
    health.record(health.BEAT_KEY)
    status, body = _ready(client)
    assert status == 200, body
    assert body["checks"]["worker"]["seen_seconds_ago"] < 5
    # A worker last seen longer ago than HEARTBEAT_MAX_AGE is reported, beat still fine.
    connection.set(health.WORKER_KEY, repr(time.time() - health.HEARTBEAT_MAX_AGE - 1))
    status, body = _ready(client)
    assert status == 503
    assert body["checks"]["worker"]["ok"] is False
    assert body["checks"]["beat"]["ok"] is True
    connection.delete(health.WORKER_KEY, health.BEAT_KEY)


def test_the_heartbeat_is_scheduled_more_often_than_it_may_be_missed(settings):
    task, seconds = settings.PERIODIC_TASKS["Worker heartbeat"]
    assert task == "config.heartbeat"
    assert seconds == health.HEARTBEAT_SECONDS
    # Two heartbeats may be missed (a busy worker) before readiness fails; a stopped worker within a minute.
    assert 2 * seconds < health.HEARTBEAT_MAX_AGE <= 60 - seconds


def test_recording_never_fails_its_caller(settings):
    settings.REDIS_URL = f"redis://127.0.0.1:{free_port()}/0"
    health.record(health.WORKER_KEY)  # no exception: a task or beat's tick goes on
    assert health.checks()["worker"] is not None
