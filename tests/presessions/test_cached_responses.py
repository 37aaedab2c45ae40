"""
Issue 20: a kept public page is served before the rest of the stack (CachedPublicPageMiddleware),
with the same headers as the full stack gave it, in the visitor's language and encoding, and never
for a signed-in user, a message, a query string, an unknown Host or a private page.

A response served early never went through SessionMiddleware or AuthenticationMiddleware, so its
request has no `session` or `user`: that is how these tests tell the two paths apart.
"""

import gzip

import pytest
from django.test import Client

from presessions import caching
from presessions.models import StateReview
from tests.factories import login_staff

pytestmark = pytest.mark.django_db
SAME_HEADERS = (
    "Content-Type",
    "Content-Language",
    "Content-Security-Policy",
    "X-Content-Type-Options",
    "Referrer-Policy",
    "Permissions-Policy",
    "X-Frame-Options",
    "Cross-Origin-Opener-Policy",
    "ETag",
    "Vary",
)


@pytest.fixture(autouse=True)
def mid_minute(monkeypatch):
    """The kept copies are keyed by the minute: the clock stays in the middle of one, so no test straddles two."""
    import time

    start = (time.time() // caching.SECONDS) * caching.SECONDS + caching.SECONDS / 2
    monkeypatch.setattr(caching.time, "time", lambda: start)


def early(response) -> bool:
    return not hasattr(response.wsgi_request, "session")


@pytest.mark.parametrize("path", ["/", "/calendar/", "/sessions/60/", "/countries/ke/", "/sessions/60/schedule/"])
def test_a_public_page_is_served_early_the_second_time_with_the_same_headers(client, open_session, kenya, path):
    first = client.get(path)
    assert first.status_code == 200 and not early(first)
    second = client.get(path)
    assert second.status_code == 200 and early(second)
    assert second.content == first.content
    for name in SAME_HEADERS:
        assert second.get(name) == first.get(name), name
    assert second["X-Content-Type-Options"] == "nosniff" and "default-src" in second["Content-Security-Policy"]
    assert second.templates == [] and first.templates  # no template rendered, no view run


def test_an_etag_answers_304_early(client, open_session):
    etag = client.get("/calendar/")["ETag"]
    client.get("/calendar/")
    again = client.get("/calendar/", headers={"if-none-match": etag})
    assert again.status_code == 304 and early(again) and again.content == b""
    for name in ("X-Content-Type-Options", "Content-Security-Policy", "Referrer-Policy", "X-Frame-Options", "Vary", "ETag"):
        assert again.get(name) is not None, name  # the security headers, as the full stack's 304 has them


def test_each_language_and_encoding_gets_its_own_copy(open_session):
    pages = {}
    for language in ("en", "fr", "es"):
        for _round in range(2):
            visitor = Client()
            visitor.cookies["django_language"] = language
            response = visitor.get("/calendar/")
        assert early(response)
        pages[language] = response
        assert response["Content-Language"] == language and f'lang="{language}"' in response.content.decode()
    assert len({page.content for page in pages.values()}) == 3
    by_header = Client().get("/calendar/", headers={"accept-language": "es"})
    by_header = Client().get("/calendar/", headers={"accept-language": "es"})
    assert early(by_header) and by_header.content == pages["es"].content
    zipped = [Client().get("/calendar/", headers={"accept-encoding": "gzip"}) for _n in range(2)]
    assert early(zipped[1]) and zipped[1]["Content-Encoding"] == "gzip"
    assert gzip.decompress(zipped[1].content) == pages["en"].content
    assert "Content-Encoding" not in pages["en"]


def test_a_signed_in_user_a_message_a_query_or_a_strange_host_go_through_the_whole_stack(client, cast, open_session):
    client.get("/calendar/")
    assert early(client.get("/calendar/"))
    assert not early(client.get("/calendar/?lang=fr"))
    staff = Client()
    login_staff(staff, cast.coordinator)
    assert not early(staff.get("/calendar/"))
    messaged = Client()
    messaged.cookies["messages"] = "anything"
    assert not early(messaged.get("/calendar/"))
    assert Client().get("/calendar/", headers={"host": "evil.example"}).status_code == 400
    assert not early(Client().post("/calendar/"))


def test_private_pages_and_the_form_are_never_kept(client, open_session):
    from presessions.models import Call

    Call.objects.filter(session=open_session)  # the open call's form
    forms = [Client().get("/sessions/60/apply/") for _n in range(2)]
    assert forms[1].status_code == 200 and not early(forms[1])
    assert forms[0].content != forms[1].content  # each visitor's own tokens
    for path in ("/staff/", "/admin/", "/account/login/"):
        Client().get(path)
        assert not early(Client().get(path)), path


def test_a_change_is_served_at_once_and_an_erasure_forgets_the_kept_copies(
    client, open_session, kenya, django_capture_on_commit_callbacks
):
    client.get("/sessions/60/")
    assert early(client.get("/sessions/60/"))
    with django_capture_on_commit_callbacks(execute=True):
        review = StateReview.objects.get(pk=kenya.pk)
        review.status_note = "Moved to the afternoon by the Working Group"
        review.save()
    fresh = client.get("/sessions/60/")
    assert not early(fresh)  # the data version changed: rendered afresh
    client.get("/sessions/60/")
    assert caching.forget_pages() >= 1
    assert not early(client.get("/sessions/60/"))


def test_a_junk_spelling_of_a_schedule_address_is_not_kept(client, open_session):
    for _n in range(2):
        response = client.get("/sessions/0060/schedule/")
    assert not early(response)
