"""The public page cache: shared through the cache (Redis in production), with a copy per process."""

import time

from django.core.cache import cache
from django.db.models.signals import post_delete, post_save

from presessions import caching


def test_local_pages_keep_the_most_recent_and_drop_expired_ones():
    pages = caching.LocalPages(2)
    later = time.time() + 60
    pages.set("a", "A", later)
    pages.set("b", "B", later)
    assert pages.get("a") == "A"  # "a" is now the most recent
    pages.set("c", "C", later)
    assert (pages.get("a"), pages.get("b"), pages.get("c")) == ("A", None, "C")
    pages.set("old", "O", time.time() - 1)
    assert pages.get("old") is None


def test_a_version_bumped_by_another_process_is_seen_within_a_second(monkeypatch):
    first = caching.data_version()
    cache.set(caching.VERSION_KEY, "elsewhere", None)  # what another process's bump() does
    assert caching.data_version() == first  # this process still trusts its copy
    clock = time.monotonic()
    monkeypatch.setattr(caching.time, "monotonic", lambda: clock + caching.LOCAL_VERSION_SECONDS + 0.01)
    assert caching.data_version() == "elsewhere"


def test_a_bump_in_this_process_is_seen_at_once(client, db):
    before = caching.data_version()
    caching.bump()
    assert caching.data_version() != before


def test_a_page_stored_by_another_process_is_read_from_the_shared_cache():
    caching.set_page("page:x", "shared copy", time.time() + 30)
    caching.clear_local()
    assert caching.get_page("page:x") == "shared copy"
    cache.delete("page:x")
    assert caching.get_page("page:x") == "shared copy"  # now kept in this process too
    caching.set_page("page:y", "expired", time.time() - 1)
    assert caching.get_page("page:y") is None


# The mechanisms of presessions.caching, one per need.


def test_remember_builds_once_per_key():
    calls = []
    build = lambda: calls.append(1) or b"page"  # noqa: E731
    assert caching.remember("release:1:en", build, 60) == b"page"
    assert caching.remember("release:1:en", build, 60) == b"page"
    assert calls == [1]


def test_a_page_with_slots_is_served_with_each_visitors_own_values():
    page = '<input name="csrf" value="AAA"><input name="token" value="BBB"><p>AAA appears once only as a token</p>'
    assert caching.keep_with_slots("form:1", page, {"csrf": "AAA", "token": "BBB"}, time.time() + 60)
    first = caching.fill_slots("form:1", {"csrf": lambda: "X1", "token": lambda: "Y1"})
    second = caching.fill_slots("form:1", {"csrf": lambda: "X2", "token": lambda: "Y2"})
    assert 'value="X1"' in first and 'value="Y1"' in first and "AAA" not in first and "BBB" not in first
    assert 'value="X2"' in second and 'value="Y2"' in second
    # A page without one of the values is not kept: it is not the page expected.
    assert not caching.keep_with_slots("form:2", page, {"csrf": "AAA", "token": None}, time.time() + 60)
    assert caching.fill_slots("form:2", {"csrf": lambda: "X", "token": lambda: "Y"}) is None


def test_a_shared_value_is_read_again_after_a_bump(db):
    calls = []
    assert caching.shared_value("latest:54", lambda: calls.append(1) or {}) == {}
    assert caching.shared_value("latest:54", lambda: calls.append(1) or {}) == {}  # a falsy value is kept too
    caching.bump()
    caching.shared_value("latest:54", lambda: calls.append(1) or {"pk": 1})
    assert calls == [1, 1]


def test_a_shared_value_is_kept_a_second_in_the_process_and_a_bump_here_drops_it_at_once(monkeypatch, db):
    calls = []
    build = lambda: calls.append(1) or {"pk": len(calls)}  # noqa: E731
    assert caching.shared_value("latest:54", build) == {"pk": 1}
    cache.clear()  # what the shared cache holds is not asked again within the second (no round trip to Redis)
    assert caching.shared_value("latest:54", build) == {"pk": 1}
    now = time.time()
    monkeypatch.setattr(caching.time, "time", lambda: now + caching.LOCAL_VERSION_SECONDS + 0.01)
    assert caching.shared_value("latest:54", build) == {"pk": 2}
    caching.bump()  # e.g. a speaker's decline, in this process: seen by the next request
    assert caching.shared_value("latest:54", build) == {"pk": 3}


def test_per_request_computes_once_per_request(rf):
    request, calls = rf.get("/"), []
    for _ in range(3):
        caching.per_request(request, "x", lambda: calls.append(1) or 5)
    assert calls == [1]
    caching.per_request(rf.get("/"), "x", lambda: calls.append(1) or 5)
    assert calls == [1, 1]


def test_refresh_on_change_bumps_only_for_the_changes_that_matter(django_capture_on_commit_callbacks, db):
    from presessions.models import Cycle

    caching.refresh_on_change(Cycle, when=lambda cycle: cycle.number > 4, name="test-cycles")
    try:
        before = caching.data_version()
        with django_capture_on_commit_callbacks(execute=True):
            Cycle.objects.create(number=4)
        assert caching.data_version() == before
        with django_capture_on_commit_callbacks(execute=True):
            Cycle.objects.create(number=5)
        assert caching.data_version() != before
    finally:
        post_save.disconnect(sender=Cycle, dispatch_uid="test-cycles-presessions.Cycle-save")
        post_delete.disconnect(sender=Cycle, dispatch_uid="test-cycles-presessions.Cycle-delete")


def test_a_bump_lost_while_redis_was_away_is_made_again_when_it_is_back(tmp_path, monkeypatch):
    """
    A real Redis, paused (SIGSTOP: its data kept, as in the attack that found this) while a speaker
    declines: the bump goes to the process's own memory. When Redis answers again it still holds the
    version from before, with the copies that showed the speaker: the process bumps once more.
    """
    import shutil
    import signal
    import socket
    import subprocess

    from config.cache import ResilientRedisCache
    from tests.conftest import service_unavailable

    if not shutil.which("redis-server"):
        service_unavailable("redis-server is not installed")
    from bench.services import free_port

    port = free_port()
    server = subprocess.Popen(
        ["redis-server", "--bind", "127.0.0.1", "--port", str(port), "--save", "", "--appendonly", "no"],
        stdout=subprocess.DEVNULL,
    )
    try:
        for _ in range(50):
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                time.sleep(0.1)
        backend = ResilientRedisCache(f"redis://127.0.0.1:{port}/0", {"OPTIONS": {"retry_seconds": 0.2, "socket_timeout": 0.2}})
        monkeypatch.setattr(caching, "cache", backend)
        monkeypatch.setattr(caching, "caches", {"default": backend})
        caching.clear_local()
        before = caching.data_version()
        caching.set_page("schedule:etag-with-the-speaker", "Speaker Nairobi Rights", time.time() + 3600)
        server.send_signal(signal.SIGSTOP)
        try:
            caching.clear_local()
            assert caching.data_version()  # times out: served from memory, the outage is seen
            caching.bump()  # the decline, while Redis is away
            assert caching.forget_pages() == 0  # an erasure cannot reach Redis either
        finally:
            server.send_signal(signal.SIGCONT)
        time.sleep(0.3)  # past retry_seconds
        caching.clear_local()
        after = caching.data_version()
        assert after != before  # bumped again once Redis answered, not the version from before
        assert backend.get(caching.VERSION_KEY) == after
        assert backend.get("schedule:etag-with-the-speaker") is None  # the erasure's deletion was finished
    finally:
        server.terminate()
        server.wait(10)
        caching.clear_local()
