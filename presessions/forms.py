from __future__ import annotations

from dataclasses import dataclass

from django import forms
from django.utils.translation import gettext_lazy as _

from .countries import display_name, find_countries
from .models import Session, StateReview


@dataclass
class FinderAnswer:
    """What the calendar's country finder says about one State."""

    code: str
    name: str
    reviews: list[StateReview]


class CountryFinderForm(forms.Form):
    q = forms.CharField(
        label=_("Country"),
        max_length=100,
        help_text=_("Type the name of a UN Member State, for example Kenya."),
        error_messages={"required": _("Enter the name of a country.")},
    )

    def clean_q(self) -> list[str]:
        query = self.cleaned_data["q"].strip()
        if not query:
            raise forms.ValidationError(_("Enter the name of a country."), code="required")
        codes = find_countries(query)
        if not codes:
            raise forms.ValidationError(
                _("No UN Member State matches “%(query)s”. Check the spelling, or pick a State from the calendar below."),
                code="not_found",
                params={"query": query},
            )
        return codes

    def answer(self, sessions: list[Session]) -> list[FinderAnswer]:
        """Return, for each matching State, its reviews found in `sessions`, latest first."""
        answers = []
        for code in self.cleaned_data["q"]:
            reviews = [r for s in sessions for r in s.reviews.all() if r.country.code == code]
            reviews.sort(key=lambda r: r.session.number, reverse=True)
            answers.append(FinderAnswer(code=code, name=display_name(code), reviews=reviews))
        return answers


def error_summary(*fields_and_forms) -> list[tuple[str, str]]:
    """
    List (anchor id, message) for every error, in the order the page shows
    the fields, for the GOV.UK-style error summary. Pass bound fields or whole
    forms; non-field errors have an empty anchor.
    """
    items: list[tuple[str, str]] = []
    for item in fields_and_forms:
        if isinstance(item, forms.BaseForm):
            items += [("", str(error)) for error in item.non_field_errors()]
            continue
        # Radio and checkbox groups have no single labelled element: point at the first option.
        anchor = item.id_for_label or f"{item.auto_id}_0"
        items += [(anchor, str(error)) for error in item.errors]
    return items
