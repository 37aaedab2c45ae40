"""
Everything of an app points only down the order of the layers: panels -> applications ->
presessions -> outbox. import-linter checks the imports (`make lint`); this checks what it cannot
see, and `make lint` runs it too:

- a template's `{% url %}`, `{% extends %}` and `{% include %}` (the calendar's pages show what
  other apps offer through presessions.page_links instead of linking up);
- names written as strings in Python: `apps.get_model("<app>", …)`, `reverse("<app>:…")`,
  `"admin:<app>_…"`, `import_module("<app>…")`.

A URL built from a variable (`{% url name %}`) or a path typed by hand cannot be checked this way:
the project has none, and reviews keep it so.
"""

import re
from pathlib import Path

import pytest
from django.conf import settings

ORDER = ["panels", "applications", "presessions", "outbox"]  # top to bottom, as in pyproject.toml
ROOT = Path(settings.BASE_DIR)
# {% url 'applications:apply' … %} and {% url "admin:outbox_email_changelist" %}
URL_TAG = re.compile(r"""{%\s*url\s+["']([\w-]+):([\w-]+)["']""")
# {% extends "panels/schedule.html" %}, {% include "admin/applications/x.html" %}
TEMPLATE_TAG = re.compile(r"""{%\s*(?:extends|include)\s+["'](?:admin/)?(\w+)/""")
# apps.get_model("applications", …), reverse("panels:…"), "admin:applications_…", import_module("panels.models")
PYTHON_NAMES = re.compile(
    r"""get_model\(\s*["'](\w+)["']|reverse(?:_lazy)?\(\s*["'](?!admin:)(\w+):|["']admin:([a-z]+)_|import_module\(\s*["'](\w+)"""
)


def links_up(template: Path, app: str) -> list[str]:
    """The URL names and templates in `template` (of `app`) that belong to an app above `app`."""
    above = ORDER[: ORDER.index(app)]
    text = template.read_text()
    found = []
    for namespace, name in URL_TAG.findall(text):
        target = name.split("_")[0] if namespace == "admin" else namespace
        if target in above or (namespace == "admin" and any(name.startswith(f"{a}_") for a in above)):
            found.append(f"{namespace}:{name}")
    found += [f"template {folder}/" for folder in TEMPLATE_TAG.findall(text) if folder in above]
    return found


def names_up(module: Path, app: str) -> list[str]:
    """The apps above `app` that `module` (of `app`) names in a string: a model, a URL, an admin URL, a module."""
    above = ORDER[: ORDER.index(app)]
    return [name for match in PYTHON_NAMES.findall(module.read_text()) for name in match if name in above]


def app_templates(app: str) -> list[Path]:
    return sorted((ROOT / app / "templates").rglob("*.*"))


@pytest.mark.parametrize("app", ORDER)
def test_no_template_links_to_an_app_above_its_own(app):
    problems = {str(t.relative_to(ROOT)): up for t in app_templates(app) if (up := links_up(t, app))}
    assert problems == {}


@pytest.mark.parametrize("app", ORDER)
def test_no_module_names_an_app_above_its_own_in_a_string(app):
    problems = {str(m.relative_to(ROOT)): up for m in sorted((ROOT / app).rglob("*.py")) if (up := names_up(m, app))}
    assert problems == {}


def test_the_string_check_finds_a_name_up(tmp_path):
    """A probe: a calendar module that names an app above it in strings."""
    probe = tmp_path / "probe.py"
    probe.write_text(
        'apps.get_model("applications", "Application")\nreverse("panels:schedule", args=[54])\n'
        'reverse("admin:applications_application_changelist")\nimport_module("panels.models")\nreverse("presessions:home")\n'
    )
    assert names_up(probe, "presessions") == ["applications", "panels", "applications", "panels"]
    assert names_up(probe, "panels") == []


def test_every_app_template_is_checked():
    """The templates live in their apps; the project's own folder holds only the site's frame."""
    assert all(app_templates(app) for app in ORDER)
    project = {p.relative_to(ROOT / "templates").parts[0] for p in (ROOT / "templates").rglob("*.*")}
    assert project <= {"base.html", "403.html", "404.html", "500.html", "request_too_large.html", "service_unavailable.html",
                       "includes", "registration", "two_factor", "bootstrap5", "admin"}  # fmt: skip


def test_the_check_finds_a_link_up(tmp_path):
    """A probe: a calendar template that links to the application form is caught."""
    probe = tmp_path / "probe.html"
    probe.write_text(
        "{% url 'applications:apply' 54 %} {% url \"admin:panels_panel_changelist\" %} {% url 'presessions:home' %}"
        '{% extends "panels/schedule.html" %}{% include "admin/applications/assess.html" %}{% include "includes/x.html" %}'
    )
    assert links_up(probe, "presessions") == [
        "applications:apply",
        "admin:panels_panel_changelist",
        "template panels/",
        "template applications/",
    ]
    assert links_up(probe, "panels") == []
