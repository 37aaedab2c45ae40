import datetime as dt

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from presessions.models import StateReview
from tests.factories import make_open_call, make_session

pytestmark = pytest.mark.django_db


def _future(weeks):
    today = dt.date.today()
    monday = today + dt.timedelta(weeks=weeks, days=-today.weekday())
    return monday


@pytest.fixture
def open_session():
    session = make_session(number=60, start=_future(14), states=("KE", "TR", "NL"))
    make_open_call(session)
    return session


def test_home_shows_the_open_call_and_upcoming_presessions(client, open_session):
    response = client.get("/")
    assert response.status_code == 200
    body = response.content.decode()
    assert "The call for applications is open." in body
    assert "Pre-sessions for UPR Working Group 60" in body
    assert "Türkiye" in body and "Netherlands (Kingdom of the)" in body
    assert "presessions@upr-info.org" in body


def test_home_without_any_call_says_so(client):
    response = client.get("/")
    assert response.status_code == 200
    assert "No call for applications is open at the moment." in response.content.decode()


def test_calendar_lists_sessions_coloured_by_year(client, open_session):
    response = client.get("/calendar/")
    body = response.content.decode()
    assert response.status_code == 200
    assert f"session-card year-{open_session.year}" in body
    assert 'href="/countries/ke/"' in body


def test_country_page_shows_review_presession_and_call(client, open_session):
    response = client.get("/countries/ke/")
    body = response.content.decode()
    assert response.status_code == 200
    assert "<h1>Kenya</h1>" in body
    assert "UPR Working Group 60" in body
    assert "The call for applications is open." in body
    start = open_session.timeline.presessions_start
    assert start.strftime("%B %Y").replace(" 0", " ") in body


def test_country_page_for_a_state_not_in_the_calendar(client):
    response = client.get("/countries/ua/")
    assert response.status_code == 200
    assert "No review of Ukraine is in the calendar." in response.content.decode()


def test_unknown_country_code_is_404(client):
    assert client.get("/countries/zz/").status_code == 404


def test_session_page_shows_timeline_and_states(client, open_session):
    response = client.get(open_session.get_absolute_url())
    body = response.content.decode()
    assert response.status_code == 200
    assert "Engagement timeline" in body
    assert "Pre-sessions in Geneva" in body
    assert "Call for applications open" in body
    assert body.index("Kenya") < body.index("Türkiye") < body.index("Netherlands (Kingdom of the)")


def test_session_without_dates_says_they_are_not_announced(client):
    session = make_session(number=61, start=None, expected_month=dt.date(2027, 10, 1))
    body = client.get(session.get_absolute_url()).content.decode()
    assert "The dates of this session have not been announced yet." in body
    assert "October 2027" in body


def test_unknown_session_is_404(client):
    assert client.get("/sessions/999/").status_code == 404


@pytest.mark.parametrize(
    ("url", "text"),
    [
        ("/faq/", "5 minutes"),
        ("/faq/", "30 to 60 minutes"),
        ("/faq/", "may not ask questions"),
        ("/about/", "National coalitions"),
        ("/about/", "gender parity"),
    ],
)
def test_static_pages(client, url, text):
    response = client.get(url)
    assert response.status_code == 200
    assert text in response.content.decode()


def test_every_page_has_title_breadcrumbs_and_footer(client, open_session):
    for url in ["/calendar/", "/countries/ke/", open_session.get_absolute_url(), "/faq/", "/about/"]:
        body = client.get(url).content.decode()
        assert 'aria-label="Breadcrumb"' in body, url
        assert "<footer" in body and "mailto:presessions@upr-info.org" in body, url
        assert '<main id="main"' in body, url
        assert "<title>" in body and "<h1" in body, url


def test_pages_need_no_javascript_and_no_cdn(client, open_session):
    for url in ["/", "/calendar/", "/countries/ke/", open_session.get_absolute_url(), "/faq/", "/about/"]:
        body = client.get(url).content.decode()
        assert "<script" not in body, url
        assert "cdn." not in body and "//cdnjs" not in body, url


def test_healthz(client):
    response = client.get("/healthz")
    assert (response.status_code, response.content) == (200, b"ok")


def _queries(client, url):
    with CaptureQueriesContext(connection) as ctx:
        assert client.get(url).status_code == 200
    return len(ctx.captured_queries)


@pytest.mark.parametrize("url", ["/", "/calendar/", "/calendar/?q=Kenya", "/countries/ke/", "/sessions/60/"])
def test_query_count_does_not_grow_with_sessions(client, url, django_assert_max_num_queries):
    session = make_session(number=60, start=_future(14), states=("KE", "TR"))
    make_open_call(session)
    few = _queries(client, url)
    for number in range(61, 80):
        other = make_session(number=number, start=_future(14 + (number - 60) * 20), states=("FR", "DE", "BR"))
        make_open_call(other)
        StateReview.objects.create(session=other, country="KE", order=4)
    with django_assert_max_num_queries(few):
        client.get(url)
    # At most 3, plus one for the Council's sessions, which a process reads once per data version
    # (presessions.models.council_periods) and which this first request of the test has to read.
    assert few <= 4


@pytest.fixture
def shipped_calendar(db):
    from presessions.importers import load_calendar, load_geneva_calendar

    load_calendar(today=dt.date(2026, 11, 29))
    load_geneva_calendar()


def test_past_session_with_known_dates_shows_them_not_estimates(client, shipped_calendar):
    # Chile was reviewed at WG 46; its Pre-sessions (13-16 February 2024) and call (17 November to
    # 6 December 2023) are on record.
    body = client.get("/countries/cl/").content.decode()
    assert "week of 13 February to 16 February 2024" in body
    assert "The call for applications closed on 6 December 2023, 23:59 (Geneva time)." in body
    assert "estimated" not in body

    body = client.get("/sessions/46/").content.decode()
    assert "13 February 2024 to 16 February 2024" in body
    assert "17 November 2023 to 6 December 2023" in body


def test_past_session_without_known_dates_says_they_are_estimated(client, shipped_calendar):
    # Mexico was reviewed at WG 45 (22 January 2024); UPR Info's dates for that series are not on record.
    body = client.get("/countries/mx/").content.decode()
    assert "(estimated; the real dates are not on record)" in body
    assert "the exact dates are announced with the call" not in body
    assert '<span class="badge text-bg-light border">estimated</span>' in body


def test_staff_notes_on_a_session_stay_off_its_public_page(client, db):
    """Found by the attack on issue 14: the importer's English working notes showed on the public page."""
    from presessions.models import Session
    from tests.factories import make_session

    session = make_session(number=71)
    Session.objects.filter(pk=session.pk).update(notes="INFERRED from the 3rd-cycle group; UNCERTAIN")
    for language in ("en", "fr", "es"):
        body = client.get(f"/sessions/{session.number}/", HTTP_ACCEPT_LANGUAGE=language).content.decode()
        assert "INFERRED" not in body and "UNCERTAIN" not in body
