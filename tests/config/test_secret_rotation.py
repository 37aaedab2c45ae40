"""Changing SECRET_KEY with the old one in SECRET_KEY_FALLBACKS keeps applicants' private links working."""

import pytest

from tests.factories import make_application

OLD, NEW = "old-" + "a1" * 30, "new-" + "b2" * 30


@pytest.mark.django_db
def test_a_link_signed_with_the_old_key_opens_while_the_key_is_a_fallback(client, settings, open_session):
    settings.SECRET_KEY = OLD
    application = make_application(open_session.reviews.first())
    link = application.get_private_url()
    assert client.get(link).status_code == 200

    settings.SECRET_KEY, settings.SECRET_KEY_FALLBACKS = NEW, [OLD]
    assert client.get(link).status_code == 200
    assert application.get_private_url() != link  # links sent from now on use the new key
    assert client.get(application.get_private_url()).status_code == 200

    settings.SECRET_KEY_FALLBACKS = []  # the old key dropped: its links stop working
    assert client.get(link).status_code == 404


def test_the_fallbacks_are_read_from_the_environment():
    import os
    import subprocess
    import sys

    from django.conf import settings

    result = subprocess.run(
        [
            sys.executable,
            "-c",
            "import django; django.setup(); from django.conf import settings; print(settings.SECRET_KEY_FALLBACKS)",
        ],
        cwd=settings.BASE_DIR,
        env={**os.environ, "DJANGO_SETTINGS_MODULE": "config.settings", "SECRET_KEY_FALLBACKS": "k1,k2"},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.stdout.strip() == "['k1', 'k2']", result.stderr
