"""
Readiness: can this web server do its work right now? `/readyz` answers in JSON, with 200 when
every part answers and 503 otherwise, for a load balancer or a monitor. `/healthz` stays the
liveness check (the process answers, nothing else is touched).

Checked: the database (a query), the cache and the broker (Redis answers a PING: the cache
falls back to each process's memory when Redis is away, so asking the cache itself would say
"fine"), the worker (it ran a task recently: beat sends it a heartbeat task every
HEARTBEAT_SECONDS, and every task it starts counts too) and beat (its scheduler ticked recently).

`/readyz/web` checks only what this web server needs to serve pages: the database (without Redis
the site still serves: the cache falls back to memory, and emails wait in the outbox). A load
balancer polls it; a stopped worker or beat must not take every web server out of the pool.

The answer names the checks and how long ago the worker and beat were seen, and the type of an
error, never an address, a host name or an error message: the endpoint is public.
"""

from __future__ import annotations

import functools
import logging
import time
from collections.abc import Callable

from django.conf import settings
from django.db import connection

logger = logging.getLogger(__name__)

WORKER_KEY = "presessions:health:worker"
BEAT_KEY = "presessions:health:beat"
# How often beat sends the worker a heartbeat (settings.PERIODIC_TASKS), and how old a sign of
# life may be before readiness fails: a worker stopped is reported within HEARTBEAT_MAX_AGE seconds.
HEARTBEAT_SECONDS = 15
HEARTBEAT_MAX_AGE = 45


@functools.lru_cache(maxsize=8)
def _redis(url: str):
    """One client (and connection pool) per URL and process; redis-py makes a new pool after a fork."""
    import redis

    return redis.Redis.from_url(url, socket_timeout=1, socket_connect_timeout=1, retry_on_timeout=False)


def record(key: str) -> None:
    """Note that the worker (or beat) is alive; never fails the caller (a task, beat's tick)."""
    if not settings.REDIS_URL:
        return
    try:
        _redis(settings.REDIS_URL).set(key, repr(time.time()), ex=24 * 3600)
    except Exception:  # noqa: BLE001 -- Redis away: readiness says so through its own checks
        logger.debug("Could not record %s", key, exc_info=True)


def _database() -> dict:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
        cursor.fetchone()
    return {}


def _ping(url: str) -> Callable[[], dict]:
    def check() -> dict:
        _redis(url).ping()
        return {}

    return check


def _seen(key: str) -> Callable[[], dict]:
    def check() -> dict:
        value = _redis(settings.REDIS_URL).get(key)
        if value is None:
            return {"ok": False, "seen_seconds_ago": None}
        age = max(0.0, time.time() - float(value))
        return {"ok": age <= HEARTBEAT_MAX_AGE, "seen_seconds_ago": round(age, 1)}

    return check


def checks(scope: str = "site") -> dict[str, Callable[[], dict]]:
    """Every check ("site", for a monitor), or only what this web server needs to serve ("web", for a load balancer)."""
    found = {"database": _database}
    if scope == "web" or not settings.REDIS_URL:
        return found  # development: a per-process cache, tasks run in the web process, no beat
    cache = settings.CACHES["default"]
    if "redis" in cache["BACKEND"].lower():
        found["cache"] = _ping(cache["LOCATION"])
    found["broker"] = _ping(settings.CELERY_BROKER_URL)
    found["worker"] = _seen(WORKER_KEY)
    found["beat"] = _seen(BEAT_KEY)
    return found


def readiness(scope: str = "site") -> tuple[bool, dict]:
    """Run the scope's checks; return whether all passed, and a report that is safe to show anyone."""
    report = {}
    for name, check in checks(scope).items():
        started = time.monotonic()
        try:
            result = {"ok": True, **check()}
        except Exception as error:  # noqa: BLE001 -- a failed check is a result, not a crash
            result = {"ok": False, "error": type(error).__name__}
            if name == "database":
                connection.close()  # a broken connection is not reused by the next request
        result["ms"] = round((time.monotonic() - started) * 1000, 1)
        report[name] = result
    healthy = all(result["ok"] for result in report.values())
    return healthy, {"status": "ok" if healthy else "unhealthy", "checks": report}
