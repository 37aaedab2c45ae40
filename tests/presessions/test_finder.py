import pytest
from django.utils import translation

from presessions.countries import display_name, find_countries
from presessions.importers import load_calendar

pytestmark = pytest.mark.django_db


def test_find_countries_by_exact_name_prefix_and_accentless_name():
    assert find_countries("Kenya") == ["KE"]
    assert find_countries("turkiye") == ["TR"]
    assert find_countries("ke") == ["KE"]  # an ISO code
    assert find_countries("Netherlands")[0] == "NL"


def test_find_countries_returns_every_guinea():
    assert find_countries("guinea")[0] == "GN"  # the exact name ranks first
    assert set(find_countries("guinea")) == {"GN", "GQ", "GW", "PG"}


def test_find_countries_ignores_blank_and_nonsense():
    assert find_countries("   ") == []
    assert find_countries("zzzz") == []


def test_display_name_is_the_un_name_in_english_and_translated_otherwise():
    assert display_name("NL") == "Netherlands (Kingdom of the)"
    with translation.override("fr"):
        assert display_name("NL") == "Pays-Bas"
        assert find_countries("Allemagne") == ["DE"]


def test_finder_answers_kenya_without_javascript(client):
    load_calendar()
    response = client.get("/calendar/", {"q": "Kenya"})
    body = response.content.decode()
    assert response.status_code == 200
    assert 'id="finder-answer"' in body
    assert "UPR Working Group 49" in body
    assert "April 2025" in body  # the Pre-session month
    assert "About 18 December 2024 to 8 January 2025" in body  # the estimated call window


def test_finder_with_no_match_shows_an_error_next_to_the_field(client):
    response = client.get("/calendar/", {"q": "Atlantis"})
    body = response.content.decode()
    assert response.status_code == 200
    assert "There is a problem" in body
    assert 'href="#id_q"' in body
    assert "No UN Member State matches “Atlantis”" in body
    assert 'aria-describedby="id_q-hint id_q-error"' in body


def test_finder_with_empty_query_asks_for_a_country(client):
    body = client.get("/calendar/", {"q": ""}).content.decode()
    assert "Enter the name of a country." in body
