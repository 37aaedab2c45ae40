"""
Country names as the UN writes them, and the country finder.

States are keyed by ISO 3166-1 alpha-2 code (django-countries), but the UN's
short names often differ from the ISO ones ("Türkiye", "Netherlands (Kingdom
of the)", "Bolivia (Plurinational State of)"). The English UN names come from
the calendar data shipped in presessions/data/. In French and Spanish,
django-countries' translated names are used, since the UN's French and
Spanish short names are not in that data.

The finder knows every State by all of these names, whatever the page's
language, and by the short forms people type ("USA", "DRC", "RDC").
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


def fold(text: str) -> str:
    """Lower-case and strip accents, so "turkiye" finds "Türkiye"."""
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(c for c in decomposed if not unicodedata.combining(c)).casefold().strip()


_fold = fold  # the name presessions.views imports

# Names people type that are in none of the three lists of names: short forms, acronyms in
# English, French and Spanish, and former or colloquial names. Accents and punctuation need no
# variants ("Cote d Ivoire" is folded like "Côte d'Ivoire").
ALIASES: dict[str, tuple[str, ...]] = {
    "AE": ("UAE", "EAU", "Emirates", "Émirats", "Emiratos"),
    "BA": ("BiH",),
    "CD": ("DRC", "DR Congo", "RDC", "RD Congo", "Congo-Kinshasa", "Zaire"),
    "CF": ("CAR", "RCA", "Centrafrique", "República Centroafricana"),
    "CG": ("Congo-Brazzaville", "Republic of the Congo", "République du Congo", "República del Congo"),
    "CI": ("Ivory Coast",),
    "CV": ("Cape Verde",),
    "CZ": ("Czech Republic", "Tchéquie", "República Checa"),
    "GB": ("UK", "Great Britain", "Britain", "England", "Grande-Bretagne", "Angleterre", "Gran Bretaña", "Inglaterra"),
    "IR": ("Persia", "Iran (République islamique d')", "Irán (República Islámica del)"),
    "KN": ("St Kitts and Nevis",),
    "KP": (
        "North Korea",
        "DPRK",
        "RPDC",
        "République populaire démocratique de Corée",
        "República Popular Democrática de Corea",
    ),
    "KR": ("South Korea", "ROK", "République de Corée", "República de Corea"),
    "LA": ("République démocratique populaire lao", "República Democrática Popular Lao"),
    "LC": ("St Lucia",),
    "MD": ("République de Moldova", "República de Moldova"),
    "MK": ("Macedonia", "Macédoine", "FYROM"),
    "MM": ("Burma",),
    "NL": ("Holland", "Hollande", "Holanda"),
    "PG": ("PNG",),
    "RU": ("Fédération de Russie", "Federación de Rusia"),
    "SA": ("KSA",),
    "SY": ("République arabe syrienne", "República Árabe Siria"),
    "SZ": ("Swaziland", "Esuatini"),
    "TL": ("East Timor",),
    "TR": ("Turkey",),
    "TZ": ("République-Unie de Tanzanie", "República Unida de Tanzania"),
    "US": ("USA", "United States", "America", "EEUU", "EE. UU.", "EUA", "Estados Unidos de América"),
    "VC": ("St Vincent and the Grenadines",),
    "ZA": ("RSA",),
}
FINDER_LANGUAGES = ("en", "fr", "es")
# Leading articles, dropped on both sides: "The Gambia", "la France" and "El Salvador" are found as typed or without.
ARTICLES = frozenset({"the", "le", "la", "les", "l", "el", "los", "las"})


def _key(text: str) -> str:
    """Fold a name for comparison: accents, case, punctuation and a leading article do not count."""
    words = "".join(c if c.isalnum() else " " for c in fold(text)).split()
    if len(words) > 1 and words[0] in ARTICLES:
        words = words[1:]
    return " ".join(words)


@functools.cache
def _names() -> dict[str, frozenset[str]]:
    """
    Return {iso2: every folded name of the State}: the UN's English name, the ISO names in
    English, French and Spanish, and the aliases.
    """
    names = {}
    for code, un_name in un_names().items():
        found = {un_name, *ALIASES.get(code, ())}
        for language in FINDER_LANGUAGES:
            with translation.override(language):
                found.add(str(countries.name(code)))
        names[code] = frozenset(_key(name) for name in found) - {""}
    return names


def _rank(needle: str, code: str, names: frozenset[str]) -> int | None:
    """0 for the same name, 1 for a name starting with the query, 2 for a word of it, 3 for a part of it."""
    compact = needle.replace(" ", "")
    if needle == code.casefold() or needle in names or any(compact == name.replace(" ", "") for name in names):
        return 0
    if any(name.startswith(needle) for name in names):
        return 1
    if any(f" {needle}" in f" {name}" for name in names):
        return 2
    if len(needle) >= 3 and any(needle in name for name in names):
        return 3
    return None


def find_countries(query: str, limit: int = 10) -> list[str]:
    """
    Return the codes of UN Member States whose name matches `query`, best first.

    The query is compared with each State's names in English (the UN's and the ISO's), French
    and Spanish, and with common short forms ("USA", "DRC", "RDC"), leaving out accents,
    case and punctuation. A name that is the query ranks first, then names that start with it,
    then names with a word that starts with it, then (from three letters) names that contain
    it. A two-letter query also matches an ISO code.
    """
    needle = _key(query)
    if not needle:
        return []
    ranked: dict[str, int] = {}
    for code, names in _names().items():
        rank = _rank(needle, code, names)
        if rank is not None:
            ranked[code] = rank
    return sorted(ranked, key=lambda code: (ranked[code], fold(display_name(code))))[:limit]
