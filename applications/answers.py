"""
What an applicant typed, given back when it could not be saved (the call had closed, or the
database was unreachable), so that nothing is silently lost.

Labels come from the forms' own fields (translated); choices are shown by their labels where they
can be read. Nothing here needs the database to work: if it cannot be reached, the posted values
are shown as they came.
"""

from __future__ import annotations

from django import forms
from django.core.exceptions import FieldDoesNotExist
from django.db import DatabaseError, models
from django.utils.text import capfirst
from django.utils.translation import gettext as _

from .forms import ApplicationForm, OrganisationForm
from .models import Application


def _field_answers(form, post) -> list[tuple[str, str]]:
    answers = []
    for name, field in form.fields.items():
        key = form.add_prefix(name)
        if name == "form_token":
            continue
        values = [v for v in post.getlist(key) if str(v).strip()]
        if not values:
            continue
        if isinstance(field, forms.BooleanField):
            answers.append((str(field.label or name), _("Yes")))
            continue
        try:
            labels = {str(value): str(label) for value, label in field.choices} if hasattr(field, "choices") else {}
        except DatabaseError:
            labels = {}
        answers.append((str(field.label or name), "; ".join(labels.get(str(v), str(v)) for v in values)))
    return answers


def _raw_answers(post) -> list[tuple[str, str]]:
    """
    The application's part when its form cannot be built (no database): labels and choices from the
    model. A State and themes are rows of the database and show as their numbers then.
    """
    answers = []
    for key in post:
        name = key.removeprefix("app-")
        if not key.startswith("app-") or name == "form_token":
            continue
        values = [v for v in post.getlist(key) if str(v).strip()]
        if not values:
            continue
        try:
            field = Application._meta.get_field(name)
        except FieldDoesNotExist:
            continue  # not a field of ours (the honeypot, say)
        if isinstance(field, models.BooleanField):
            shown = [_("Yes")]
        else:
            choices = {str(value): str(label) for value, label in field.flatchoices}
            shown = [choices.get(str(v), str(v)) for v in values]
        answers.append((capfirst(str(field.verbose_name)), "; ".join(shown)))
    return answers


def posted_answers(post, files, *, session=None) -> list[tuple[str, str]]:
    """The posted application as (label, value) pairs, in the form's order, only what was filled in."""
    answers = _field_answers(OrganisationForm(), post)
    try:
        answers += _field_answers(ApplicationForm(session=session), post) if session is not None else _raw_answers(post)
    except DatabaseError:
        answers += _raw_answers(post)
    for upload in files.values():
        answers.append((_("File"), _("%(name)s (not kept: attach it again)") % {"name": upload.name}))
    return answers


def as_text(answers: list[tuple[str, str]]) -> str:
    return "\n\n".join(f"{label}:\n{value}" for label, value in answers)
