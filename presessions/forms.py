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
