import pytest
from django.utils import translation

from presessions.countries import display_name, find_countries
from presessions.importers import load_calendar, load_geneva_calendar

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


def test_find_countries_by_english_french_and_spanish_names_whatever_the_language():
    assert find_countries("Kenia") == ["KE"]  # Spanish, found on an English page
    assert find_countries("Allemagne") == ["DE"]
    assert find_countries("Países Bajos") == ["NL"]
    with translation.override("fr"):
        assert find_countries("Kenia") == ["KE"]
        assert find_countries("Germany") == ["DE"]
    with translation.override("es"):
        assert find_countries("Royaume-Uni") == ["GB"]


def test_find_countries_by_common_short_forms():
    assert find_countries("USA") == ["US"]
    assert find_countries("U.S.A.") == ["US"]
    assert find_countries("EE. UU.") == ["US"]
    assert find_countries("UK")[0] == "GB"
    assert find_countries("DRC") == ["CD"]
    assert find_countries("RDC") == ["CD"]
    assert find_countries("UAE") == ["AE"]
    assert find_countries("Turkey") == ["TR"]
    assert find_countries("Ivory Coast") == ["CI"]


def test_find_countries_without_accents_punctuation_or_article():
    assert find_countries("Cote d Ivoire") == ["CI"]
    assert find_countries("COTE-D'IVOIRE") == ["CI"]
    assert find_countries("Turquia") == ["TR"]
    assert find_countries("Etats-Unis") == ["US"]
    assert find_countries("The Gambia") == ["GM"]


def test_find_countries_ranks_the_exact_name_before_the_others():
    assert find_countries("Congo") == ["CG", "CD"]
    assert find_countries("Republic of the Congo") == ["CG", "CD"]
    assert find_countries("Sudan") == ["SD", "SS"]


def test_display_name_is_the_un_name_in_english_and_translated_otherwise():
    assert display_name("NL") == "Netherlands (Kingdom of the)"
    with translation.override("fr"):
        assert display_name("NL") == "Pays-Bas"
        assert find_countries("Allemagne") == ["DE"]


def test_finder_answers_kenya_without_javascript(client):
    load_calendar()
    load_geneva_calendar()
    response = client.get("/calendar/", {"q": "Kenya"})
    body = response.content.decode()
    assert response.status_code == 200
    assert 'id="finder-answer"' in body
    assert "UPR Working Group 49" in body
    assert "February 2025" in body  # the Pre-session month, clear of HRC58 (24 February - 4 April 2025)
    assert "About 11 November 2024 to 2 December 2024" in body  # the estimated call window


@pytest.mark.parametrize("query", ["Cote d Ivoire", "Costa de Marfil", "Ivory Coast"])
def test_finder_answers_a_name_typed_without_accents_or_in_another_language(client, query):
    load_calendar()
    body = client.get("/calendar/", {"q": query}).content.decode()
    assert 'id="finder-answer"' in body
    assert "Everything about Côte d&#x27;Ivoire" in body


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
