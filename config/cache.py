"""
A Redis cache that keeps the site serving when Redis has a bad minute.

Every operation goes to Redis unless Redis has just failed; then, for a few seconds, it goes to a
cache in this process's memory instead (pages, the data version and rate-limit counters all keep
working, per process). The failure is logged once when Redis goes away and once when it is back,
not once per request. A down Redis costs one quick failed connection every few seconds, never a
wait on every request: connections time out after half a second.

What was kept in memory meanwhile is simply dropped when Redis returns: it is all short-lived
(pages for a minute, rate-limit windows for a minute), so nothing is lost or doubled.
"""

from __future__ import annotations

import logging
import threading
import time

from django.core.cache.backends.base import DEFAULT_TIMEOUT
from django.core.cache.backends.locmem import LocMemCache
from django.core.cache.backends.redis import RedisCache
from redis.exceptions import RedisError

logger = logging.getLogger(__name__)

# Not only a refused connection: an error reply (out of memory under maxmemory, MISCONF after a failed
# snapshot, READONLY after a failover) or a garbled one must not break a page either.
FAILURES = (RedisError, OSError)


class ResilientRedisCache(RedisCache):
    retry_seconds = 5.0

    def __init__(self, server, params):
        options = params.setdefault("OPTIONS", {})
        options.setdefault("socket_connect_timeout", 0.5)
        options.setdefault("socket_timeout", 0.5)
        self.retry_seconds = float(options.pop("retry_seconds", self.retry_seconds))
        super().__init__(server, params)
        self._fallback = LocMemCache(f"fallback-{id(self)}", {"OPTIONS": {"MAX_ENTRIES": 2000}})
        self._down_until = 0.0
        self._lock = threading.Lock()

    def _call(self, name: str, *args, **kwargs):
        if time.monotonic() < self._down_until:
            return getattr(self._fallback, name)(*args, **kwargs)
        try:
            result = getattr(super(), name)(*args, **kwargs)
        except FAILURES as error:
            with self._lock:
                was_up = self._down_until == 0.0
                self._down_until = time.monotonic() + self.retry_seconds
            if was_up:
                logger.error("Redis cache unreachable (%s); serving from per-process memory until it is back.", error)
            return getattr(self._fallback, name)(*args, **kwargs)
        if self._down_until:
            with self._lock:
                if self._down_until:
                    self._down_until = 0.0
                    self._fallback.clear()
                    logger.warning("Redis cache reachable again.")
        return result

    @property
    def available(self) -> bool:
        """False while operations go to the per-process fallback."""
        return time.monotonic() >= self._down_until

    def add(self, key, value, timeout=DEFAULT_TIMEOUT, version=None):
        return self._call("add", key, value, timeout, version)

    def get(self, key, default=None, version=None):
        return self._call("get", key, default, version)

    def set(self, key, value, timeout=DEFAULT_TIMEOUT, version=None):
        return self._call("set", key, value, timeout, version)

    def touch(self, key, timeout=DEFAULT_TIMEOUT, version=None):
        return self._call("touch", key, timeout, version)

    def delete(self, key, version=None):
        return self._call("delete", key, version)

    def get_many(self, keys, version=None):
        return self._call("get_many", keys, version)

    def has_key(self, key, version=None):
        return self._call("has_key", key, version)

    def incr(self, key, delta=1, version=None):
        return self._call("incr", key, delta, version)

    def set_many(self, data, timeout=DEFAULT_TIMEOUT, version=None):
        return self._call("set_many", data, timeout, version)

    def delete_many(self, keys, version=None):
        return self._call("delete_many", keys, version)

    def clear(self):
        return self._call("clear")
