"""
Links that an app adds to the pages of an app below it.

The calendar's pages (home, a country, a session, a call's status) offer what other apps do: apply,
get an alert, read the schedule; an applicant's page offers the panel's participation page. An
app does not know the apps above it or their URLs: each app adds its links here in its
AppConfig.ready(), and the pages show them with `{% page_links "<place>" … as links %}`
(presessions.templatetags.calendar_tags). Places, with what their builders are given:

- "home": the home page.
- "country": a country's page, with `code` and `name`.
- "session": a session's page, with `session`.
- "open_call": under an open call's status, with `call` and `review` (None on a session's page).
- "applicant": an applicant's private page (applications), with `application` and `token`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class PageLink:
    url: str
    label: str
    primary: bool = False  # shown as the page's main button


PLACES = ("home", "country", "session", "open_call", "applicant")
_builders: dict[str, list[Callable[..., PageLink | None]]] = {place: [] for place in PLACES}


def add_link(place: str, build: Callable[..., PageLink | None]) -> None:
    """Show the link that `build(**context)` returns (or none, if it returns None) on every page of `place`."""
    if place not in _builders:
        raise ValueError(f"Unknown place {place!r}; the calendar's pages have {', '.join(PLACES)}.")
    if build not in _builders[place]:
        _builders[place].append(build)


def links(place: str, **context) -> list[PageLink]:
    return [link for build in _builders[place] if (link := build(**context)) is not None]
