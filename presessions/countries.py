"""
Country names as the UN writes them, and the country finder.

States are keyed by ISO 3166-1 alpha-2 code (django-countries), but the UN's
short names often differ from the ISO ones ("Türkiye", "Netherlands (Kingdom
of the)", "Bolivia (Plurinational State of)"). The English UN names come from
the calendar data shipped in presessions/data/. In French and Spanish,
django-countries' translated names are used, since the UN's French and
Spanish short names are not in that data.
"""

from __future__ import annotations

import functools
import json
import unicodedata
from pathlib import Path

from django.utils import translation
from django_countries import countries

DATA_DIR = Path(__file__).resolve().parent / "data"
CALENDAR_FILE = DATA_DIR / "upr-cycle4-calendar.json"


@functools.cache
def un_names() -> dict[str, str]:
    """Return {iso2: UN short name} for every State in the shipped calendar."""
    data = json.loads(CALENDAR_FILE.read_text(encoding="utf-8"))
    names = {}
    for session in data["sessions"]:
        for state in session["states"]:
            names[state["iso2"]] = state["name"]
    for state in data.get("postponed_or_unplaced", []):
        names[state["iso2"]] = state["name"]
    return names


def display_name(code: str) -> str:
    """Return the name to show for a country code in the active language."""
    code = str(code).upper()
    language = (translation.get_language() or "en").split("-")[0]
    if language == "en" and code in un_names():
        return un_names()[code]
    return str(countries.name(code)) or code


def _fold(text: str) -> str:
    """Lower-case and strip accents, so "turkiye" finds "Türkiye"."""
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(c for c in decomposed if not unicodedata.combining(c)).casefold().strip()


def find_countries(query: str, limit: int = 10) -> list[str]:
    """
    Return the codes of UN Member States whose name matches `query`.

    A name matches when it is the query, starts with it or contains it, in
    that order of preference; the English UN name, the ISO name and the name
    in the active language are all tried, and a two-letter query also matches
    an ISO code.
    """
    needle = _fold(query)
    if not needle:
        return []
    ranked: dict[str, int] = {}
    for code, un_name in un_names().items():
        candidates = {_fold(un_name), _fold(display_name(code))}
        with translation.override("en"):
            candidates.add(_fold(str(countries.name(code))))
        if needle == code.casefold():
            rank = 0
        elif needle in candidates:
            rank = 0
        elif any(c.startswith(needle) for c in candidates):
            rank = 1
        elif len(needle) >= 3 and any(needle in c for c in candidates):
            rank = 2
        else:
            continue
        ranked[code] = rank
    return sorted(ranked, key=lambda code: (ranked[code], _fold(display_name(code))))[:limit]
