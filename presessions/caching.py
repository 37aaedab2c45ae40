"""
A short-lived cache for the public pages that everyone sees alike (home, calendar, country and
session pages, FAQ): they are read far more often than the calendar changes.

A cached page is keyed by a data version, the language, the full path and the current minute.
Saving a session, a State's review, a call or a theme bumps the version; the minute in the key means a
call's status ("open", "closed") is never more than a minute behind the clock, and that
processes which do not share the cache (no Redis) catch up within a minute. Pages that carry a
message for one visitor are never cached.

Each process also keeps the version it last read for a second, and its most recent pages in
memory, so a page it has already served costs no round trip to Redis. A change made in another
process is therefore seen within a second (at once in the process that made it).
"""

import collections
import functools
import threading
import time
import uuid
from urllib.parse import urlencode

from django.contrib.messages import get_messages
from django.core.cache import cache
from django.db import transaction
from django.http import HttpResponse, HttpResponsePermanentRedirect
from django.urls import NoReverseMatch, reverse
from django.utils import translation

VERSION_KEY = "public-data-version"
# Every key in the cache has a time to live, so that Redis's volatile-lru policy can evict any of
# them and never the Celery queues, which share the instance and have none (see README). A
# version that expires is simply replaced by a new one.
VERSION_SECONDS = 7 * 24 * 3600
SECONDS = 60
LOCAL_VERSION_SECONDS = 1.0
LOCAL_PAGES = 128


class LocalPages:
    """The most recently used pages of this process, each with the Unix time it expires."""

    def __init__(self, size: int):
        self.size, self.pages, self.lock = size, collections.OrderedDict(), threading.Lock()

    def get(self, key: str):
        with self.lock:
            entry = self.pages.get(key)
            if entry is None:
                return None
            if entry[0] <= time.time():
                del self.pages[key]
                return None
            self.pages.move_to_end(key)
            return entry[1]

    def set(self, key: str, value, expires: float) -> None:
        with self.lock:
            self.pages[key] = (expires, value)
            self.pages.move_to_end(key)
            while len(self.pages) > self.size:
                self.pages.popitem(last=False)

    def clear(self) -> None:
        with self.lock:
            self.pages.clear()


_local_pages = LocalPages(LOCAL_PAGES)
_local_version: tuple[float, str] | None = None


def data_version() -> str:
    global _local_version
    now = time.monotonic()
    if _local_version is not None and _local_version[0] > now:
        return _local_version[1]
    version = cache.get(VERSION_KEY)
    if version is None:
        version = uuid.uuid4().hex[:8]
        cache.set(VERSION_KEY, version, VERSION_SECONDS)
    _local_version = (now + LOCAL_VERSION_SECONDS, version)
    return version


def bump(*args, **kwargs) -> None:
    """Invalidate every cached public page (connected to post_save and post_delete of the calendar's models)."""
    cache.set(VERSION_KEY, uuid.uuid4().hex[:8], VERSION_SECONDS)
    clear_local()


def bump_on_commit() -> None:
    """Bump the version once the current transaction commits (other processes could otherwise cache what it undoes)."""
    transaction.on_commit(bump)


def clear_local() -> None:
    """Forget this process's copies: the next read goes to the shared cache."""
    global _local_version
    _local_version = None
    _local_pages.clear()


def get_page(key: str):
    """A page (any picklable value) from this process's copies, else from the shared cache; None if neither has it."""
    value = _local_pages.get(key)
    if value is None:
        entry = cache.get(key)
        if entry is not None and entry[0] > time.time():
            _local_pages.set(key, entry[1], entry[0])
            value = entry[1]
    return value


def set_page(key: str, value, expires: float) -> None:
    """Keep a page in the shared cache and in this process until `expires` (a Unix time)."""
    seconds = int(expires - time.time())
    if seconds > 0:
        cache.set(key, (expires, value), seconds)
        _local_pages.set(key, value, expires)


def _canonical_path(request) -> str:
    """The page's own address: /sessions/54/ for /sessions/0054/, /countries/ke/ for /countries/KE/."""
    match = request.resolver_match
    if match is None:
        return request.path
    kwargs = {name: value.lower() if isinstance(value, str) else value for name, value in match.kwargs.items()}
    try:
        return reverse(match.view_name, args=match.args, kwargs=kwargs)
    except NoReverseMatch:
        return request.path


def public_page(view=None, *, query: dict | None = None):
    """
    Serve a public page from the cache, keyed by data version, language, path and minute.

    `query` names the query parameters the page reads, each with a function that turns a value
    into its part of the key, or None for a value not worth keeping (then the page is rendered
    but not kept). Any other parameter, or another spelling of the path (/sessions/0054/), is
    dropped by a redirect to the page's own address, so junk cannot fill the cache with copies of
    one page.
    """
    query = query or {}

    def decorator(view):
        @functools.wraps(view)
        def wrapped(request, *args, **kwargs):
            if request.method not in ("GET", "HEAD") or len(get_messages(request)):
                return view(request, *args, **kwargs)
            path = _canonical_path(request)
            if path != request.path or set(request.GET) - set(query):
                kept = [(name, value) for name, value in request.GET.items() if name in query]
                return HttpResponsePermanentRedirect(path + (f"?{urlencode(kept)}" if kept else ""))
            parts = []
            for name, normalise in sorted(query.items()):
                if name in request.GET:
                    part = normalise(request.GET[name])
                    if part is None:
                        return view(request, *args, **kwargs)
                    parts.append(f"{name}={part}")
            minute = int(time.time() // SECONDS)
            key = f"page:{data_version()}:{translation.get_language()}:{path}?{'&'.join(parts)}:{minute}"
            cached = get_page(key)
            if cached is not None:
                status, content_type, content = cached
                return HttpResponse(content, status=status, content_type=content_type)
            response = view(request, *args, **kwargs)
            if response.status_code == 200 and not response.streaming:
                set_page(key, (response.status_code, response["Content-Type"], response.content), (minute + 1) * SECONDS)
            return response

        return wrapped

    return decorator(view) if view is not None else decorator
