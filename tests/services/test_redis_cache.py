"""
The cache on a real Redis server, started for these tests with the memory policy of the README:
every key it writes expires, junk query strings add none, and the site keeps serving (and saving
applications) while Redis is stopped, logging the outage once.
"""

import logging
import shutil
import subprocess
import time

import pytest
import redis
from django.core.cache import cache

from applications.models import Application
from bench.services import REDIS_POLICY, free_port
from presessions import caching
from tests.conftest import service_unavailable
from tests.factories import application_post

pytestmark = pytest.mark.django_db


class RedisServer:
    def __init__(self):
        self.port = free_port()
        self.process = None

    def start(self):
        self.process = subprocess.Popen(
            ["redis-server", "--bind", "127.0.0.1", "--port", str(self.port), "--save", "", "--appendonly", "no", *REDIS_POLICY],
            stdout=subprocess.DEVNULL,
        )
        client = redis.Redis(port=self.port)
        for _ in range(100):
            try:
                client.ping()
                return
            except redis.ConnectionError:
                time.sleep(0.05)
        raise RuntimeError("redis-server did not start")

    def stop(self):
        self.process.terminate()
        self.process.wait(5)


@pytest.fixture
def redis_server(settings):
    if not shutil.which("redis-server"):
        service_unavailable("redis-server is not installed")
    server = RedisServer()
    server.start()
    settings.CACHES = {
        "default": {"BACKEND": "config.cache.ResilientRedisCache", "LOCATION": f"redis://127.0.0.1:{server.port}/1"}
    }
    settings.RATELIMIT_USE_CACHE = "default"
    caching.clear_local()
    yield server
    if server.process.poll() is None:
        server.stop()


def _keys(server) -> dict[bytes, int]:
    client = redis.Redis(port=server.port, db=1)
    return {key: client.ttl(key) for key in client.keys("*")}


def test_every_cache_key_expires_and_junk_query_strings_add_none(client, kenya, redis_server):
    for url in ["/", "/calendar/", "/calendar/?q=Kenya", "/faq/", "/sessions/60/", "/sessions/60/apply/"]:
        assert client.get(url).status_code == 200
    client.post("/sessions/60/apply/", application_post(kenya))  # a rate-limit counter too
    keys = _keys(redis_server)
    assert keys and all(ttl > 0 for ttl in keys.values()), keys
    for i in range(600):
        response = client.get(f"/faq/?utm_source=x{i}")
        assert response.status_code == 301 and response["Location"] == "/faq/"
    for i in range(50):
        client.get(f"/calendar/?q=nowhere{i}")  # a finder query that finds nothing is answered, not kept
        client.get("/calendar/?q=k" + "\u0301" * (i % 7 + 1) + "enya")  # accents the finder ignores: one copy
        assert client.get(f"/sessions/{'0' * (i % 5 + 1)}60/")["Location"] == "/sessions/60/"
        client.get(f"/sessions/60/apply/?state={chr(65 + i % 26)}{chr(65 + i // 26)}")  # not States of the session
    assert client.get("/countries/KE/")["Location"] == "/countries/ke/"
    after = _keys(redis_server)
    assert len(after) <= len(keys) + 2  # at most the folded Kenya query and its day's copy; expired copies go
    assert not [key for key in after if b"utm" in key or b"nowhere" in key]


def test_the_site_keeps_serving_and_saving_while_redis_is_down(client, kenya, redis_server, caplog, settings):
    settings.APPLICATION_RATELIMIT = "5/m"
    assert client.get("/sessions/60/apply/").status_code == 200
    redis_server.stop()
    caplog.set_level(logging.WARNING, logger="config.cache")
    started = time.monotonic()
    for url in ["/", "/calendar/", "/faq/", "/sessions/60/", "/sessions/60/apply/"]:
        assert client.get(url).status_code == 200, url
    for i in range(3):
        response = client.post("/sessions/60/apply/", application_post(kenya, email=f"down-{i}@example.org"))
        assert response.status_code == 302
    assert Application.objects.count() == 3
    assert time.monotonic() - started < 5  # no request waits for Redis
    # The rate limit still holds, per process, while Redis is away.
    statuses = [
        client.post("/sessions/60/apply/", application_post(kenya, email=f"more-{i}@example.org")).status_code for i in range(5)
    ]
    assert 429 in statuses
    outages = [r for r in caplog.records if "unreachable" in r.getMessage()]
    assert len(outages) == 1  # logged once, not per request
    redis_server.start()
    cache._cache  # noqa: B018
    time.sleep(5.1)  # the fallback's retry period
    assert client.get("/faq/").status_code == 200
    assert cache.available and any("reachable again" in r.getMessage() for r in caplog.records)


def test_an_error_reply_from_redis_is_a_fault_like_any_other(client, kenya, redis_server):
    """Under maxmemory, a full Redis answers writes with an error: pages and the form keep working."""
    redis.Redis(port=redis_server.port).config_set("maxmemory", 1)
    for url in ["/", "/calendar/", "/faq/", "/sessions/60/apply/"]:
        assert client.get(url).status_code == 200, url
    assert client.post("/sessions/60/apply/", application_post(kenya)).status_code == 302
    assert not cache.available  # serving from this process's memory meanwhile
