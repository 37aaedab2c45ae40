"""Pages reached through a private link: never cached, never indexed, never carried in a URL, and quiet once withdrawn."""

import pytest

from applications import domain
from applications.models import Application, CallAlert
from applications.tokens import ALERT_SALT, UNSUBSCRIBE_SALT, make_token, sign
from tests.factories import application_post

pytestmark = pytest.mark.django_db


@pytest.fixture
def application(client, kenya):
    client.post("/sessions/60/apply/", application_post(kenya))
    return Application.objects.get()


def _private_urls(application):
    token = make_token(application)
    alert = CallAlert.objects.create(email="alert@example.org", country="KE")
    return [
        f"/applications/{token}/",
        f"/applications/{token}/edit/",
        f"/applications/{token}/withdraw/",
        f"/applications/{sign(application.link_key, UNSUBSCRIBE_SALT)}/reminders-off/",
        f"/alerts/{sign(alert.key, ALERT_SALT)}/confirm/",
        f"/alerts/{sign(alert.key, ALERT_SALT)}/unsubscribe/",
    ]


def test_every_private_page_is_neither_cached_nor_indexed(client, application):
    for url in _private_urls(application):
        response = client.get(url)
        assert response.status_code == 200, url
        assert "no-store" in response["Cache-Control"] and "private" in response["Cache-Control"], url
        assert response["X-Robots-Tag"] == "noindex, nofollow", url
        assert response["Referrer-Policy"] == "same-origin", url
        assert '<meta name="robots" content="noindex">' in response.content.decode(), url


def test_no_page_puts_its_own_address_in_a_link(client, application):
    token = make_token(application)
    body = client.get(f"/applications/{token}/").content.decode()
    assert "?next=" not in body
    assert body.count(token) == body.count(f"/applications/{token}/") > 0  # only in the page's own links and form


def test_the_language_switcher_returns_to_the_private_page_without_a_url_carrying_it(client, application):
    url = f"/applications/{make_token(application)}/"
    response = client.post("/language/", {"language": "fr", "next": url})
    assert (response.status_code, response["Location"]) == (303, url)
    assert '<html lang="fr">' in client.get(url).content.decode()


def test_a_withdrawn_application_shows_only_that_it_was_withdrawn(client, application):
    url = f"/applications/{make_token(application)}/"
    domain.withdraw_application(application)
    body = client.get(url).content.decode()
    assert "This application was withdrawn" in body
    for held in ["Wanjiru Kamau", "Woman", "contact@kenya-hr.example.org", "wanjiru@", "+254", "Kenya Human Rights Forum"]:
        assert held not in body, held
    assert "Apply again with this application" in body  # the call is still open


@pytest.mark.parametrize(
    ("language", "check_email", "withdrawn"),
    [
        ("fr", "Un e-mail est en route", "Cette candidature a été retirée"),
        ("es", "Se está enviando un correo", "Esta candidatura fue retirada"),
    ],
)
def test_the_new_pages_read_in_french_and_spanish(client, application, settings, language, check_email, withdrawn):
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = language
    assert check_email in client.get("/sessions/60/apply/sent/").content.decode()
    domain.withdraw_application(application)
    body = client.get(f"/applications/{make_token(application)}/").content.decode()
    assert withdrawn in body and f'<html lang="{language}">' in body
