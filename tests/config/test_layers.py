"""
The apps' templates link only down the order of the layers, as their imports do (import-linter checks
those in `make lint`): panels -> applications -> presessions -> outbox. A template of an app may link
to its own URLs and to those of the apps below it, never to an app above it: the calendar's pages
show what other apps offer through presessions.page_links instead.
"""

import re
from pathlib import Path

import pytest
from django.conf import settings

ORDER = ["panels", "applications", "presessions", "outbox"]  # top to bottom, as in pyproject.toml
ROOT = Path(settings.BASE_DIR)
# {% url 'applications:apply' … %} and {% url "admin:outbox_email_changelist" %}
URL_TAG = re.compile(r"""{%\s*url\s+["']([\w-]+):([\w-]+)["']""")


def links_up(template: Path, app: str) -> list[str]:
    """The URL names in `template` (of `app`) that belong to an app above `app`."""
    above = ORDER[: ORDER.index(app)]
    found = []
    for namespace, name in URL_TAG.findall(template.read_text()):
        target = name.split("_")[0] if namespace == "admin" else namespace
        if target in above or (namespace == "admin" and any(name.startswith(f"{a}_") for a in above)):
            found.append(f"{namespace}:{name}")
    return found


def app_templates(app: str) -> list[Path]:
    return sorted((ROOT / app / "templates").rglob("*.*"))


@pytest.mark.parametrize("app", ORDER)
def test_no_template_links_to_an_app_above_its_own(app):
    problems = {str(t.relative_to(ROOT)): up for t in app_templates(app) if (up := links_up(t, app))}
    assert problems == {}


def test_every_app_template_is_checked():
    """The templates live in their apps; the project's own folder holds only the site's frame."""
    assert all(app_templates(app) for app in ORDER)
    project = {p.relative_to(ROOT / "templates").parts[0] for p in (ROOT / "templates").rglob("*.*")}
    assert project <= {"base.html", "403.html", "404.html", "500.html", "request_too_large.html", "service_unavailable.html",
                       "includes", "registration", "two_factor"}  # fmt: skip


def test_the_check_finds_a_link_up(tmp_path):
    """A probe: a calendar template that links to the application form is caught."""
    probe = tmp_path / "probe.html"
    probe.write_text("{% url 'applications:apply' 54 %} {% url \"admin:panels_panel_changelist\" %} {% url 'presessions:home' %}")
    assert links_up(probe, "presessions") == ["applications:apply", "admin:panels_panel_changelist"]
    assert links_up(probe, "panels") == []
