"""A NUL character in an address is a 400 for anyone, never a server error or an error report."""

import pytest


@pytest.mark.django_db
@pytest.mark.parametrize(
    "url",
    ["/sessions/60/apply/?state=%00", "/calendar/?q=ke%00nya", "/?%00=1", "/countries/k%00e/", "/applications/ab%00cd/"],
)
def test_a_nul_character_is_refused(client, open_session, url, mailoutbox, settings):
    settings.ADMINS = [("Operations", "ops@example.org")]
    response = client.get(url)
    assert response.status_code == 400
    assert mailoutbox == []


@pytest.mark.django_db
def test_ordinary_addresses_are_untouched(client, open_session):
    assert client.get("/sessions/60/apply/?state=KE").status_code in (200, 302)
    assert client.get("/calendar/?q=kenya").status_code in (200, 302)
