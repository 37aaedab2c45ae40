"""The one place that makes links that leave the site: absolute addresses, private tokens, dedupe keys."""

import pathlib

import pytest
from django.conf import settings

from outbox import links


def test_absolute_links_come_from_reverse_and_the_site_address(settings):
    settings.SITE_URL = "https://presessions.example.org"
    assert links.absolute("panels:changes", 54) == "https://presessions.example.org/sessions/54/schedule/changes/"
    assert links.absolute("applications:apply", 54, query={"state": "KE"}) == (
        "https://presessions.example.org/sessions/54/apply/?state=KE"
    )


def test_a_token_opens_only_what_it_was_made_for():
    token = links.sign("abcdefghijklmnop", "applications.private-link")
    assert links.unsign(token, "applications.private-link") == "abcdefghijklmnop"
    with pytest.raises(links.BadLink):
        links.unsign(token, "applications.reminders-off")
    with pytest.raises(links.BadLink):
        links.unsign(token[:-1] + ("A" if token[-1] != "A" else "B"), "applications.private-link")


def test_a_dedupe_key_names_the_kind_and_its_parts_and_never_a_secret():
    assert links.dedupe_key("call-alert", 12, 3) == "call-alert:12:3"
    secret = "s3cr3t-link-key-0123456789"
    key = links.dedupe_key("new-link", 7, links.fingerprint(secret))
    assert secret not in key and key.startswith("new-link:7:")
    assert links.fingerprint(secret) != links.fingerprint(secret + "x")


def test_only_the_link_helper_reads_the_site_address():
    """settings.SITE_URL is read in one place (test harnesses only pass it to the servers they start; the deploy check only looks at it)."""
    root = pathlib.Path(settings.BASE_DIR)
    readers = sorted(
        str(path.relative_to(root))
        for path in root.rglob("*.py")
        if not {".venv", "var", "tests", "bench"} & set(path.relative_to(root).parts) and "SITE_URL" in path.read_text()
    )
    assert readers == ["config/checks.py", "config/settings.py", "outbox/links.py"]
