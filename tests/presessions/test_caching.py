"""The public page cache: shared through the cache (Redis in production), with a copy per process."""

import time

from django.core.cache import cache

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
