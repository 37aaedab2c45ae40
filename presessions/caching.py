"""
Every cache of the product, in one place: one mechanism per need.

Which one to use:

1. A public page that everyone sees alike and that changes with the data (home, calendar, a
   country's or a session's page, FAQ): decorate the view with `public_page`. The page is kept
   under a data version, the language, its path and the current minute. Saving a session, a
   State's review, a call, a theme or a public speaker bumps the version (`refresh_on_change`,
   `bump_on_commit`); the minute in the key keeps a call's status ("open", "closed") at most a
   minute behind the clock, and lets processes that do not share a cache (no Redis) catch up
   within a minute. A page that carries a message for one visitor is never kept.
2. Content that never changes under its key, such as the pages of one published schedule
   release (its ETag is in the key): `remember(key, build, seconds)`.
3. A page alike for everyone except a few values of each visitor's own, such as the blank
   application form with its CSRF and one-time form tokens: `keep_with_slots` keeps it with
   slots in place of those values, and `fill_slots` serves it with new ones.
4. A small value every request reads, such as the latest release of a schedule and who of its
   speakers is public now: `shared_value(key, build)`. It is kept a day in a shared cache
   (Redis), whose entries a bump of the data version replaces, and five seconds in a
   per-process cache, which another process's bump cannot reach. Either way each process keeps
   what it read for a second, under the data version, like the version itself.
5. The same value read more than once in one request: `per_request(request, name, build)`.

0. In front of all of these, a whole public response (body and headers, compressed or not) is
   kept for its path, language, scheme and encoding, and served by `CachedPublicPageMiddleware`
   (config.middleware) before sessions, CSRF, messages, authentication and the view: a page that
   is the same bytes for everyone should cost little more than a bare Django view. A view opts in
   with `public_page`, or `shared_response` for a page keyed otherwise (the schedule's); only a
   visitor with no session, no messages and no query string is served this way. These copies stay
   in the process (a miss costs no round trip to Redis); each process renders a page once a
   minute per language and encoding, from mechanism 1's shared copy.

Django's `cache_page` does not fit 1 to 3: its key cannot hold the data version (invalidation
would wait for the timeout) and it would keep a page with a visitor's CSRF token. Its
`condition` decorator does fit the schedule's ETag and Last-Modified (panels.public_views).

Each process also keeps the data version it last read for a second, and its most recent pages in
memory, so a page it has already served costs no round trip to Redis. A change made in another
process is therefore seen within a second (at once in the process that made it). The cache
backend itself (config.cache) fails soft when Redis has a bad minute.
"""

import collections
import functools
import logging
import re
import threading
import time
import uuid
from collections.abc import Callable
from urllib.parse import urlencode

from django.conf import settings
from django.contrib.messages import get_messages
from django.core.cache import cache, caches
from django.core.cache.backends.redis import RedisCache
from django.core.exceptions import DisallowedHost
from django.db import transaction
from django.db.models.signals import post_delete, post_save
from django.http import HttpResponse, HttpResponsePermanentRedirect
from django.urls import NoReverseMatch, reverse
from django.utils import translation
from django.utils.cache import get_conditional_response
from django.utils.http import parse_http_date_safe

VERSION_KEY = "public-data-version"
# Every key in the cache has a time to live, so that Redis's volatile-lru policy can evict any of
# them and never the Celery queues, which share the instance and have none (see README). A
# version that expires is simply replaced by a new one.
VERSION_SECONDS = 7 * 24 * 3600
SECONDS = 60
LOCAL_VERSION_SECONDS = 1.0
LOCAL_PAGES = 512


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
# Mechanism 0's whole responses: in this process only, so that a request for a page nobody keeps
# (/healthz, the form, a private page) costs no round trip to Redis to find nothing.
_local_responses = LocalPages(LOCAL_PAGES)
# Mechanism 4's small values, kept a second in this process (shared_value).
_local_values = LocalPages(LOCAL_PAGES)
_local_version: tuple[float, str] | None = None


_saw_outage = False  # this process found the shared cache away since it last bumped
_forget_pending = False  # an erasure could not delete the kept copies from the shared cache


def data_version() -> str:
    global _local_version
    now = time.monotonic()
    if _local_version is not None and _local_version[0] > now:
        return _local_version[1]
    version = cache.get(VERSION_KEY)
    if _back_after_outage():
        return data_version()
    if version is None:
        version = uuid.uuid4().hex[:8]
        cache.set(VERSION_KEY, version, VERSION_SECONDS)
    _local_version = (now + LOCAL_VERSION_SECONDS, version)
    return version


def _back_after_outage() -> bool:
    """
    When the shared cache (Redis) is back after an outage, bump the version once, and finish an
    erasure's deletion of kept copies that the outage stopped; return whether it bumped.

    A bump made during the outage (a speaker who declined, an erasure, from any process) went to a
    process's own memory, not to Redis, which still holds the version from before it, and with it
    copies of pages that show what the bump was to hide (a schedule's pages are kept for a day).
    Every process that saw the outage therefore bumps when it sees Redis again.
    """
    global _saw_outage, _forget_pending
    if not getattr(caches["default"], "available", True):
        _saw_outage = True
        return False
    if not _saw_outage:
        return False
    _saw_outage = False
    logging.getLogger(__name__).warning("The shared cache is back: serving the public pages afresh.")
    bump()
    if _forget_pending:
        _forget_pending = False
        forget_pages()
    return True


def bump(*args, **kwargs) -> None:
    """Invalidate every cached public page (connected to post_save and post_delete of the calendar's models)."""
    cache.set(VERSION_KEY, uuid.uuid4().hex[:8], VERSION_SECONDS)
    clear_local()


def bump_on_commit() -> None:
    """Bump the version once the current transaction commits (other processes could otherwise cache what it undoes)."""
    transaction.on_commit(bump)


# The keys under which copies of public pages are kept (mechanisms 1 and 2).
PAGE_PREFIXES = ("page:", "schedule:", "schedule-ics:", "response:")


def forget_pages() -> int:
    """
    Delete every kept copy of a public page, here and in the shared cache; return how many.

    A bump makes them unreachable, but they stay stored until their time runs out (a day for a
    schedule's pages), and Redis may write them to disk: after an erasure, an erased speaker's name
    must not stay anywhere. Fails soft: if Redis does not answer, its copies expire on their own.
    """
    clear_local()
    backend = caches["default"]
    deleted = 0
    for memory in (backend, getattr(backend, "_fallback", None)):  # in-memory caches: tests, one process, Redis's stand-in
        if memory is not None and not isinstance(memory, RedisCache) and hasattr(memory, "_expire_info"):
            with memory._lock:
                for key in [key for key in memory._cache if any(f":{prefix}" in key for prefix in PAGE_PREFIXES)]:
                    memory._cache.pop(key, None)
                    memory._expire_info.pop(key, None)
                    deleted += 1
    if isinstance(backend, RedisCache):
        try:
            client = backend._cache.get_client(write=True)
            for prefix in PAGE_PREFIXES:
                keys = list(client.scan_iter(match=backend.make_and_validate_key(prefix) + "*", count=500))
                for start in range(0, len(keys), 500):
                    deleted += client.delete(*keys[start : start + 500])
        except Exception:  # noqa: BLE001 -- a Redis outage must not undo an erasure: deleted when Redis is back
            global _forget_pending
            _forget_pending = True
            logging.getLogger(__name__).exception(
                "Could not delete the kept copies of public pages in Redis; they are deleted when it is back."
            )
    return deleted


def clear_local() -> None:
    """Forget this process's copies: the next read goes to the shared cache."""
    global _local_version
    _local_version = None
    _local_pages.clear()
    _local_responses.clear()
    _local_values.clear()


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


def canonical_path(request) -> str:
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
            path = canonical_path(request)
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
                return _mark_shared(HttpResponse(content, status=status, content_type=content_type))
            response = view(request, *args, **kwargs)
            if response.status_code == 200 and not response.streaming:
                set_page(key, (response.status_code, response["Content-Type"], response.content), (minute + 1) * SECONDS)
                _mark_shared(response)
            return response

        return wrapped

    return decorator(view) if view is not None else decorator


# ------------------------------------------------------------ 0. whole public responses

RESPONSE_PREFIX = "response:"
MAX_PATH = 200
GZIP = re.compile(r"\bgzip\b")
NOT_KEPT_HEADERS = {"set-cookie", "date", "server"}
NOT_MODIFIED_DROPS = {"content-type", "content-length", "content-encoding"}


def _mark_shared(response):
    """Say that `response` is the same for every visitor of its path and language (see response_key)."""
    response.shared = True
    return response


def shared_response(view):
    """
    Mark a view's successful responses as the same for everyone who asks for this path in this
    language, until the data version or the minute changes, so that CachedPublicPageMiddleware
    may keep them whole. Only for a view whose page depends on nothing else (no query string, no
    visitor, no cookie), and only at the page's own address (junk spellings are not kept).
    """

    @functools.wraps(view)
    def wrapped(request, *args, **kwargs):
        response = view(request, *args, **kwargs)
        if response.status_code == 200 and not response.streaming and canonical_path(request) == request.path:
            _mark_shared(response)
        return response

    return wrapped


def response_key(request) -> str | None:
    """
    The key of the whole response kept for this request, or None when it may differ from the kept
    one: a method other than GET or HEAD, a query string, a session or messages cookie (a signed-in
    user, a message to show), a plain-HTTP request the site would redirect, a Host the site does not
    serve. The language is the one LocaleMiddleware would choose (cookie, then Accept-Language).
    """
    if request.method not in ("GET", "HEAD") or request.META.get("QUERY_STRING") or len(request.path) > MAX_PATH:
        return None
    if settings.SESSION_COOKIE_NAME in request.COOKIES or "messages" in request.COOKIES:
        return None
    secure = request.is_secure()
    if settings.SECURE_SSL_REDIRECT and not secure:
        return None
    try:
        request.get_host()
    except DisallowedHost:
        return None
    language = translation.get_language_from_request(request)
    encoding = "gz" if GZIP.search(request.META.get("HTTP_ACCEPT_ENCODING", "")) else "id"
    minute = int(time.time() // SECONDS)
    return f"{RESPONSE_PREFIX}{data_version()}:{language}:{'s' if secure else 'h'}:{encoding}:{request.path}:{minute}"


def keep_response(key: str, response) -> bool:
    """Keep a response marked shared, with its headers (not its cookies, date or server), until the minute ends."""
    if not getattr(response, "shared", False) or response.status_code != 200 or response.streaming or response.cookies:
        return False
    headers = [(name, value) for name, value in response.items() if name.lower() not in NOT_KEPT_HEADERS]
    minute = int(key.rsplit(":", 1)[1])
    _local_responses.set(key, (response.status_code, headers, response.content), (minute + 1) * SECONDS)
    return True


def kept_response(request, key: str):
    """The response kept under `key`, answered as ConditionalGetMiddleware would (304 on a matching ETag); None if none."""
    kept = _local_responses.get(key)
    if kept is None:
        return None
    status, headers, content = kept
    response = HttpResponse(content, status=status)
    for name, value in headers:
        response[name] = value
    answer = get_conditional_response(
        request, etag=response.get("ETag"), last_modified=_last_modified(response), response=response
    )
    if answer is not response:  # 304 (or 412): with the security headers the full stack gives it too
        for name, value in headers:
            if name.lower() not in NOT_MODIFIED_DROPS and name not in answer:
                answer[name] = value
    return answer


def _last_modified(response):
    value = response.get("Last-Modified")
    return parse_http_date_safe(value) if value else None


# ------------------------------------------------------------------- 2. immutable content


def remember(key: str, build, seconds: float):
    """The value kept under `key` (whose content never changes), built and kept on the first request."""
    value = get_page(key)
    if value is None:
        value = build()
        set_page(key, value, time.time() + seconds)
    return value


# ---------------------------------------------------- 3. a page with each visitor's own values


def keep_with_slots(key: str, content: str, personal: dict[str, str | None], expires: float) -> bool:
    """
    Keep `content` until `expires` (a Unix time) with each visitor's own value replaced by a slot:
    `personal` maps each slot's name to the value this copy holds. Nothing is kept, and False is
    returned, if one of the values is missing (the page is not the one expected).
    """
    if not all(personal.values()):
        return False
    for name, value in personal.items():
        content = content.replace(value, _slot(name))
    set_page(key, content, expires)
    return True


def fill_slots(key: str, values: dict[str, Callable[[], str]]) -> str | None:
    """The page kept under `key` with a new value in each slot (`values` maps a slot's name to a function), or None."""
    content = get_page(key)
    if content is None:
        return None
    for name, make in values.items():
        content = content.replace(_slot(name), make())
    return content


def _slot(name: str) -> str:
    return f"\x00{name}\x00"  # a character no page contains


# ----------------------------------------------------------- 4. a small value every request reads

SHARED_SECONDS = 24 * 3600
PER_PROCESS_SECONDS = 5


def shared_value(key: str, build):
    """
    `build()`, kept under `key` together with the data version: for a day when the cache is shared
    between processes, for five seconds when each process has its own (a bump made in another
    process cannot reach it). A falsy value is kept too.

    Each process also keeps what it read for LOCAL_VERSION_SECONDS, under the same versioned key, so
    that a request costs no round trip to Redis (issue 20: the schedule and its ICS made one GET per
    request). That delays nothing: the key holds the data version, which this process already
    trusts for that long, and a bump in this process (a decline, a withdrawal, a publication)
    clears the copies at once (clear_local).
    """
    key = f"{key}:{data_version()}"
    cached = _local_values.get(key)
    if cached is None:
        cached = cache.get(key)
        if cached is None:
            cached = (build(),)
            cache.set(key, cached, SHARED_SECONDS if _shared() else PER_PROCESS_SECONDS)
        _local_values.set(key, cached, time.time() + LOCAL_VERSION_SECONDS)
    return cached[0]


def _shared() -> bool:
    """Whether the cache is shared between processes (Redis), rather than each process's own memory."""
    return isinstance(caches["default"], RedisCache)


# ------------------------------------------------------------------- 5. once per request


def per_request(request, name: str, build):
    """`build()`, computed once per request under `name`."""
    memo = request.__dict__.setdefault("_per_request", {})
    if name not in memo:
        memo[name] = build()
    return memo[name]


# ------------------------------------------------------------------- invalidation


def refresh_on_change(*models, when: Callable | None = None, name: str = "public-pages") -> None:
    """
    Serve the public pages afresh once a save or delete of one of `models` commits (`when(instance)`,
    if given, decides which ones matter). Bumping before the commit would let another process
    cache the old data under the new version for a minute.
    """

    def changed(sender, instance, raw=False, **kwargs):
        if not raw and (when is None or when(instance)):
            bump_on_commit()

    for model in models:
        for signal, action in ((post_save, "save"), (post_delete, "delete")):
            signal.connect(changed, sender=model, weak=False, dispatch_uid=f"{name}-{model._meta.label}-{action}")
