"""
The calendar's pages show what the apps above offer (apply, alerts, the schedule) without linking
up to them: the apps add their links through presessions.page_links.
"""

import pytest
from django.urls import reverse

from presessions import page_links


def test_each_calendar_page_shows_the_links_the_apps_added(client, open_session):
    home = client.get("/").content.decode()
    assert f'href="{reverse("applications:alert_subscribe")}"' in home
    assert 'class="btn btn-primary" href="/sessions/60/apply/"' in home  # the open call's button

    country = client.get("/countries/ke/").content.decode()
    assert 'href="/alerts/?country=KE"' in country
    assert 'class="btn btn-primary" href="/sessions/60/apply/?state=KE"' in country
    assert "Apply to speak on Kenya" in country

    session = client.get("/sessions/60/").content.decode()
    assert 'href="/sessions/60/schedule/"' in session


def test_the_links_are_in_the_visitors_language(client, open_session):
    client.cookies["django_language"] = "es"
    country = client.get("/countries/ke/").content.decode()
    assert "Presentar candidatura sobre Kenia" in country
    assert "Apply to speak on" not in country


def test_a_place_that_does_not_exist_is_refused():
    with pytest.raises(ValueError):
        page_links.add_link("nowhere", lambda **context: None)


def test_a_builder_may_offer_nothing(rf):
    assert page_links.links("applicant", application=type("A", (), {"told": False, "status": "submitted"})(), token="t") == []
