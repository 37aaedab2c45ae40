from pathlib import Path

import polib
import pytest
from django.conf import settings

LOCALE = Path(settings.BASE_DIR) / "locale"


@pytest.mark.parametrize("language", ["fr", "es"])
def test_every_message_is_translated(language):
    po = polib.pofile(str(LOCALE / language / "LC_MESSAGES" / "django.po"))
    untranslated = [entry.msgid for entry in po if not entry.translated()]
    assert untranslated == []


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("language", "title", "nav"),
    [("fr", "Qu'est-ce qu'une pré-session ?", "Calendrier"), ("es", "¿Qué es una presesión?", "Calendario")],
)
def test_pages_render_in_the_chosen_language(client, settings, language, title, nav):
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = language
    body = client.get("/faq/").content.decode()
    assert f'<html lang="{language}">' in body
    assert title in body.replace("&#x27;", "'")
    assert f">{nav}</a>" in body
