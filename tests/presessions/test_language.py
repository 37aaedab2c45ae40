import pytest

pytestmark = pytest.mark.django_db


def test_switching_language_sets_a_cookie_and_returns_to_the_page(client, settings):
    response = client.post("/language/", {"language": "fr", "next": "/faq/"})
    assert response.status_code == 303
    assert response["Location"] == "/faq/"
    assert response.cookies[settings.LANGUAGE_COOKIE_NAME].value == "fr"
    page = client.get("/faq/")
    assert '<html lang="fr">' in page.content.decode()


def test_switching_language_refuses_an_outside_redirect(client):
    response = client.post("/language/", {"language": "es", "next": "https://evil.example/"})
    assert response["Location"] == "/"


def test_unknown_language_is_refused(client):
    assert client.post("/language/", {"language": "de", "next": "/"}).status_code == 400
    assert client.get("/language/").status_code == 405  # no address ever carries the page to return to


def test_every_page_offers_the_three_languages(client):
    body = client.get("/about/").content.decode()
    assert 'name="language" value="fr"' in body and 'name="language" value="es"' in body
    assert 'aria-current="true">English' in body
