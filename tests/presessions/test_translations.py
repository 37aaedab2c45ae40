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


def test_no_template_or_code_string_is_left_untranslated(tmp_path, monkeypatch, settings):
    """Extract every string again (as `make messages` does) into a copy of the catalogues: all must be translated."""
    import shutil

    from django.core.management import call_command

    if not shutil.which("xgettext"):
        from tests.conftest import service_unavailable

        service_unavailable("GNU gettext (xgettext) is not installed")
    # Work on a copy of the sources, so the real catalogues are never touched.
    base = Path(settings.BASE_DIR)
    packages = [p.name for p in base.iterdir() if (p / "__init__.py").exists() and p.name not in ("tests", "bench")]
    for name in [*packages, "templates", "locale"]:
        shutil.copytree(base / name, tmp_path / name, ignore=shutil.ignore_patterns("__pycache__", "*.mo"))
    settings.LOCALE_PATHS = [tmp_path / "locale"]
    monkeypatch.chdir(tmp_path)
    call_command("makemessages", locale=["fr", "es"], verbosity=0)
    for language in ["fr", "es"]:
        po = polib.pofile(str(tmp_path / "locale" / language / "LC_MESSAGES" / "django.po"))
        assert [entry.msgid for entry in po if not entry.translated()] == [], language
