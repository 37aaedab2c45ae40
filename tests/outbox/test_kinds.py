"""The outbox knows other apps' emails only through what they register (outbox.kinds)."""

import pathlib

from django.conf import settings

from outbox import kinds
from outbox.sandbox import template_errors


def _template_kinds() -> set[str]:
    root = pathlib.Path(settings.BASE_DIR)
    return {
        path.name.removesuffix("-subject.txt")
        for path in root.glob("*/templates/emails/*-subject.txt")
        if path.relative_to(root).parts[0] not in (".venv", "var")
    }


def test_every_email_template_belongs_to_a_registered_kind_and_back():
    assert _template_kinds() == set(kinds.kinds())


def test_decisions_are_one_family_that_replaces_earlier_ones():
    families = kinds.kinds_that_replace_earlier()
    assert sorted(map(sorted, families)) == [["decision-not-selected", "decision-reserve", "decision-selected"]]


def test_every_registered_placeholder_has_an_example_and_is_allowed():
    sample = kinds.sample_context()
    for name in kinds.placeholders():
        value = sample
        for part in name.split("."):
            value = value[part]
        assert value not in (None, ""), name
        assert template_errors(f"{{{{ {name} }}}}") == [], name
    # The outbox's own placeholders come last; the private links are refused in a subject.
    assert kinds.placeholders()[-2:] == ("contact_email", "site_url")
    assert {"link", "confirm_link", "unsubscribe_url"} <= kinds.private_placeholders()
    assert template_errors("{{ link }}", subject=True)


def test_the_preview_links_are_built_with_reverse(settings):
    settings.SITE_URL = "https://presessions.example.org"
    sample = kinds.sample_context()
    assert sample["link"] == "https://presessions.example.org/applications/EXAMPLE/"
    assert sample["schedule_url"] == "https://presessions.example.org/sessions/54/schedule/changes/"
