"""
A short-lived cache for the public pages that everyone sees alike (home, calendar, country and
session pages, FAQ): they are read far more often than the calendar changes.

A cached page is keyed by a data version, the language, the full path and the current minute.
Saving a session, a State's review, a call or a theme bumps the version; the minute in the key means a
call's status ("open", "closed") is never more than a minute behind the clock, and that
processes which do not share the cache (no Redis) catch up within a minute. Pages that carry a
message for one visitor are never cached.
"""

import functools
import time
import uuid

from django.contrib.messages import get_messages
from django.core.cache import cache
from django.http import HttpResponse
from django.utils import translation

VERSION_KEY = "public-data-version"
SECONDS = 60


def data_version() -> str:
    version = cache.get(VERSION_KEY)
    if version is None:
        version = uuid.uuid4().hex[:8]
        cache.set(VERSION_KEY, version, None)
    return version


def bump(*args, **kwargs) -> None:
    """Invalidate every cached public page (connected to post_save and post_delete of the calendar's models)."""
    cache.set(VERSION_KEY, uuid.uuid4().hex[:8], None)


def public_page(view):
    @functools.wraps(view)
    def wrapped(request, *args, **kwargs):
        if request.method not in ("GET", "HEAD") or len(get_messages(request)):
            return view(request, *args, **kwargs)
        key = f"page:{data_version()}:{translation.get_language()}:{request.get_full_path()}:{int(time.time() // SECONDS)}"
        cached = cache.get(key)
        if cached is not None:
            status, content_type, content = cached
            return HttpResponse(content, status=status, content_type=content_type)
        response = view(request, *args, **kwargs)
        if response.status_code == 200 and not response.streaming:
            cache.set(key, (response.status_code, response["Content-Type"], response.content), SECONDS)
        return response

    return wrapped


# Per-visitor values in a page that is otherwise the same for everyone: the cached copy keeps a
# slot in their place, and each response fills the slots with that visitor's own values.
CSRF_SLOT = "\x00csrf-token\x00"


def store_page(key: str, content: str, valid_until: float, slots: dict[str, str]) -> None:
    """
    Keep `content` until `valid_until` (a Unix time), with each value in `slots` replaced by its slot.

    `slots` maps the per-visitor value to its slot, e.g. {"<the CSRF token>": CSRF_SLOT}.
    """
    for value, slot in slots.items():
        content = content.replace(value, slot)
    seconds = int(valid_until - time.time())
    if seconds > 0:
        cache.set(key, (valid_until, content), seconds)


def cached_page(key: str) -> str | None:
    """The page stored under `key`, with its slots still to fill, or None when there is none or it has expired."""
    entry = cache.get(key)
    if entry is None or entry[0] <= time.time():
        return None
    return entry[1]
