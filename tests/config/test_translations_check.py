"""French and Spanish silently fall back to English without their .mo files: `check` says so."""

import os
import shutil

from django.conf import settings
from django.core.management import call_command

from config.checks import translations_compiled


def test_missing_or_stale_translations_are_warned_about(tmp_path, settings):
    locale = tmp_path / "locale"
    shutil.copytree(settings.BASE_DIR / "locale", locale, ignore=shutil.ignore_patterns("*.mo"))
    settings.LOCALE_PATHS = [locale]
    found = translations_compiled()
    assert [warning.id for warning in found] == ["presessions.W007"]
    assert "locale/fr" in found[0].msg or "fr/LC_MESSAGES" in found[0].msg
    call_command("compiletranslations", verbosity=0)
    assert translations_compiled() == []
    po = locale / "es" / "LC_MESSAGES" / "django.po"
    later = po.with_suffix(".mo").stat().st_mtime + 60
    os.utime(po, (later, later))  # a .po edited after the build
    assert [warning.id for warning in translations_compiled()] == ["presessions.W007"]


def test_this_checkout_is_compiled():
    assert translations_compiled() == [], "run `make install` (compiletranslations)"
    assert settings.LOCALE_PATHS
