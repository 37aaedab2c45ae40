"""robots.txt, the sitemap, `?lang=` with hreflang alternates, the accessibility statement and the footer."""

import re
import xml.etree.ElementTree as ET

import pytest
from django.conf import settings
from django.db import connection
from django.http import HttpResponse
from django.test.utils import CaptureQueriesContext
from django.urls import URLPattern, URLResolver, get_resolver, path

from applications.tokens import make_token
from config.urls import urlpatterns as site_urlpatterns
from panels.models import ScheduleRelease
from presessions.models import StateReview
from tests.factories import make_application, make_session

pytestmark = pytest.mark.django_db

SITE = "http://127.0.0.1:8000"  # settings.SITE_URL in tests
NS = {"s": "http://www.sitemaps.org/schemas/sitemap/0.9", "x": "http://www.w3.org/1999/xhtml"}
# A URL conf with two private routes added later (the test module is the URL conf: pytest.mark.urls).
urlpatterns = [
    *site_urlpatterns,
    path("sessions/<int:number>/notes/<str:token>/", lambda request, **kwargs: HttpResponse(), name="later_note"),
    path("staff/later/", lambda request: HttpResponse(), name="later_staff"),
]


def disallow_rules(client) -> list[str]:
    body = client.get("/robots.txt").content.decode()
    return [line.split(":", 1)[1].strip() for line in body.splitlines() if line.startswith("Disallow:")]


def is_disallowed(rules: list[str], url: str) -> bool:
    """RFC 9309's matching, with * and $, which urllib.robotparser does not read."""
    patterns = [re.escape(rule).replace(r"\*", ".*").replace(r"\$", "$") for rule in rules if rule]
    return any(re.match(pattern, url) for pattern in patterns)


def walk(patterns, prefix="", namespace=""):
    """(name, route) of every route, as tests/security/test_permission_matrix.py walks them."""
    for pattern in patterns:
        route = str(pattern.pattern).replace("^", "").replace("$", "")
        if isinstance(pattern, URLResolver):
            inner = f"{namespace}:{pattern.namespace}" if namespace and pattern.namespace else pattern.namespace or namespace
            yield from walk(pattern.url_patterns, prefix + route, inner)
        elif isinstance(pattern, URLPattern):
            yield (f"{namespace}:{pattern.name}" if namespace else pattern.name or ""), prefix + route


def private_urls() -> dict[str, str]:
    """A concrete URL for every private route: a private link's, a staff page's, the admin's, the staff sign-in's."""
    found = {}
    for name, route in walk(get_resolver().url_patterns):
        if "<str:token>" in route or route.startswith(("staff/", "admin/", "account/")):
            url = "/" + re.sub(r"<[^>]+>|\(\?P<\w+>[^)]*\)", "x1", route)
            found[f"{name} ({route})"] = url.replace(".*", "")
    return found


PUBLIC_URLS = [
    "/",
    "/calendar/",
    "/calendar/?q=Kenya",
    "/countries/ke/",
    "/sessions/60/",
    "/sessions/60/apply/",
    "/sessions/60/schedule/",
    "/sessions/60/schedule/ke/",
    "/sessions/60/schedule/changes/",
    "/sessions/60/schedule.ics",
    "/sessions/60/schedule.json",
    "/faq/",
    "/about/",
    "/privacy/",
    "/accessibility/",
    "/sitemap.xml",
]


def sitemap(client) -> dict[str, dict[str, str]]:
    """Each <loc> of the sitemap, with its alternates as {hreflang: href}."""
    root = ET.fromstring(client.get("/sitemap.xml").content)
    return {
        url.findtext("s:loc", namespaces=NS): {
            link.get("hreflang"): link.get("href") for link in url.findall("x:link", NS) if link.get("rel") == "alternate"
        }
        for url in root.findall("s:url", NS)
    }


def alternates(body: str) -> dict[str, str]:
    return dict(re.findall(r'<link rel="alternate" hreflang="([^"]+)" href="([^"]+)">', body))


# ------------------------------------------------------------------------------- the files


@pytest.mark.parametrize(
    ("url", "content_type"),
    [
        ("/robots.txt", "text/plain"),
        ("/sitemap.xml", "application/xml"),
        ("/accessibility/", "text/html"),
        ("/privacy/", "text/html"),
    ],
)
def test_each_answers_with_its_content_type(client, url, content_type):
    response = client.get(url)
    assert response.status_code == 200
    assert response["Content-Type"].startswith(content_type)


def test_robots_names_the_sitemap_at_the_sites_address(client):
    body = client.get("/robots.txt").content.decode()
    assert body.startswith("User-agent: *\n")
    assert f"Sitemap: {SITE}/sitemap.xml" in body.splitlines()


def test_robots_disallows_every_private_route_of_the_url_conf(client):
    rules = disallow_rules(client)
    found = private_urls()
    assert len(found) > 40  # the admin's, the staff pages, every private link
    assert {name: url for name, url in found.items() if not is_disallowed(rules, url)} == {}
    for prefix in ["/admin/", "/account/", "/applications/", "/alerts/", "/staff/", "/request-too-large/", "/language/"]:
        assert prefix in rules, prefix
    assert "/schedule-alerts/" in rules and "/statements/" in rules


def test_robots_allows_the_public_pages(client):
    rules = disallow_rules(client)
    assert [url for url in PUBLIC_URLS if is_disallowed(rules, url)] == []


@pytest.mark.urls(__name__)
def test_a_private_route_added_later_is_disallowed_without_blocking_its_public_neighbours(client):
    rules = disallow_rules(client)
    assert is_disallowed(rules, "/sessions/60/notes/abc:def/")
    assert is_disallowed(rules, "/staff/later/")
    assert "/sessions/*/notes/*/" in rules
    assert [url for url in PUBLIC_URLS if is_disallowed(rules, url)] == []


# ----------------------------------------------------------------------------------- sitemap


@pytest.fixture
def published(open_session):
    """Session 60 (Kenya, Türkiye) with a published schedule, session 61 (Kenya, Brazil) without."""
    make_session(number=61, start=None, states=("KE", "BR"))
    ScheduleRelease.objects.create(session=open_session, number=1, name="1", payload={"days": []}, etag="e1")
    return open_session


def test_the_sitemap_lists_every_public_page_in_three_languages(client, published):
    urls = sitemap(client)
    pages = {loc.split("?")[0] for loc in urls}
    assert pages == {
        f"{SITE}{path}"
        for path in [
            "/",
            "/calendar/",
            "/faq/",
            "/about/",
            "/privacy/",
            "/accessibility/",
            "/in-figures/",
            "/sessions/60/",
            "/sessions/61/",
            "/countries/br/",
            "/countries/ke/",
            "/countries/tr/",
            "/sessions/60/schedule/",  # 61 has no published schedule
        ]
    }
    assert len(urls) == 3 * len(pages)
    for loc, links in urls.items():
        page = loc.split("?")[0]
        assert links == {
            "en": f"{page}?lang=en",
            "fr": f"{page}?lang=fr",
            "es": f"{page}?lang=es",
            "x-default": page,
        }, loc
        assert loc in links.values()


def test_the_sitemap_lists_no_private_page_and_nothing_robots_disallows(client, published):
    make_application(published.reviews.get(country="KE"))
    rules = disallow_rules(client)
    for loc in sitemap(client):
        path = loc.removeprefix(SITE)
        assert not is_disallowed(rules, path), loc
        assert not re.search(r"/(applications|alerts|staff|admin|account)/|/apply/", path), loc


def test_the_sitemap_gives_a_schedules_publication_date(client, published):
    body = client.get("/sitemap.xml").content.decode()
    release = ScheduleRelease.objects.get()
    assert f"<loc>{SITE}/sessions/60/schedule/?lang=fr</loc><lastmod>{release.published_at:%Y-%m-%d}</lastmod>" in body


def _sitemap_queries(client) -> int:
    with CaptureQueriesContext(connection) as ctx:
        assert client.get("/sitemap.xml").status_code == 200
    return len(ctx.captured_queries)


def test_the_sitemaps_query_count_does_not_grow_with_sessions_and_countries(client, published):
    few = _sitemap_queries(client)
    for number in range(62, 82):
        other = make_session(number=number, start=None, states=("FR", "DE", "CL"))
        StateReview.objects.create(session=other, country=["AR", "BO", "CO", "EC", "PE"][number % 5], order=4)
        ScheduleRelease.objects.create(session=other, number=1, name="1", payload={"days": []}, etag=f"e{number}")
    assert len(sitemap(client)) > 3 * 40
    assert _sitemap_queries(client) == few <= 4


# -------------------------------------------------------------------- ?lang= and alternates


def test_lang_shows_the_page_in_that_language_and_leaves_the_cookie_alone(client):
    client.post("/language/", {"language": "es", "next": "/"})
    response = client.get("/faq/?lang=fr")
    assert response.status_code == 200  # not redirected away by the public page's cache
    assert '<html lang="fr">' in response.content.decode()
    assert response["Content-Language"] == "fr"
    assert settings.LANGUAGE_COOKIE_NAME not in response.cookies
    assert client.cookies[settings.LANGUAGE_COOKIE_NAME].value == "es"
    assert '<html lang="es">' in client.get("/faq/").content.decode()


def test_the_public_page_cache_keeps_each_language_apart(client):
    for code in ["fr", "es", "en", "fr", "es", "en"]:
        assert f'<html lang="{code}">' in client.get(f"/about/?lang={code}").content.decode(), code


def test_lang_keeps_the_pages_own_parameters(client, open_session):
    response = client.get("/calendar/?q=Kenya&lang=es")
    assert response.status_code == 200
    body = response.content.decode()
    assert '<html lang="es">' in body
    # The language switcher returns to the page without ?lang=, which would outweigh the choice.
    assert 'name="next" value="/calendar/?q=Kenya"' in body


def test_a_search_names_the_calendar_itself_in_every_language(client, open_session):
    links = alternates(client.get("/calendar/?q=Kenya").content.decode())
    assert links["fr"] == f"{SITE}/calendar/?lang=fr" and links["x-default"] == f"{SITE}/calendar/"


def test_robots_and_the_sitemap_refuse_a_post(client):
    assert client.post("/robots.txt").status_code == 405
    assert client.post("/sitemap.xml").status_code == 405
    assert client.head("/sitemap.xml").status_code == 200


def test_an_unknown_lang_is_ignored(client):
    response = client.get("/faq/?lang=de")
    assert response.status_code == 200
    assert '<html lang="en">' in response.content.decode()


@pytest.mark.parametrize(
    "url", ["/", "/calendar/", "/faq/", "/about/", "/privacy/", "/accessibility/", "/countries/ke/", "/sessions/60/"]
)
def test_a_public_page_names_itself_in_every_language(client, open_session, url):
    assert alternates(client.get(url).content.decode()) == {
        "en": f"{SITE}{url}?lang=en",
        "fr": f"{SITE}{url}?lang=fr",
        "es": f"{SITE}{url}?lang=es",
        "x-default": f"{SITE}{url}",
    }


def test_a_private_page_or_an_error_page_has_no_alternates(client, kenya):
    token = make_token(make_application(kenya))
    for url in [f"/applications/{token}/", f"/applications/{token}/?lang=fr", "/sessions/999/"]:
        response = client.get(url)
        body = response.content.decode()
        assert response.status_code in (200, 404), url
        assert alternates(body) == {} and 'hreflang="' not in body, url
    assert '<html lang="fr">' in client.get(f"/applications/{token}/?lang=fr").content.decode()


# -------------------------------------------------------------- accessibility statement, footer


def test_the_accessibility_statement(client):
    body = client.get("/accessibility/").content.decode()
    assert "<h1>Accessibility statement for Pre-session Manager</h1>" in body
    assert '<main id="main"' in body and 'aria-label="Breadcrumb"' in body
    for heading in ["How accessible this website is", "Feedback and contact information", "Enforcement procedure"]:
        assert f">{heading}</h2>" in body, heading
    assert f'href="mailto:{settings.CONTACT_EMAIL}"' in body
    assert "WCAG" in body and "Chromium" in body
    assert "<script" not in body


def test_every_page_links_to_the_privacy_notice_and_the_accessibility_statement(client, kenya):
    token = make_token(make_application(kenya))
    for url in ["/", "/faq/", "/accessibility/", "/sessions/60/apply/", f"/applications/{token}/", "/sessions/999/"]:
        body = client.get(url).content.decode()
        footer = body[body.index("<footer") :]
        assert '<a href="/privacy/">Privacy notice</a>' in footer, url
        assert '<a href="/accessibility/">Accessibility statement</a>' in footer, url
