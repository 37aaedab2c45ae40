import datetime as dt

from django import template

from presessions.countries import display_name
from presessions.page_links import links

register = template.Library()


@register.filter
def country_name(code: str) -> str:
    """The name of a country from its ISO code, in the active language ("KE" -> "Kenya", "Kenia")."""
    return display_name(code) if code else ""


@register.filter
def wall_clock(value):
    """
    A Geneva wall-clock time kept as text in a schedule release ("2027-02-16T10:00"), as a datetime
    that the date filter writes in the page's language. Anything else is returned unchanged.
    """
    try:
        return dt.datetime.fromisoformat(value)
    except (TypeError, ValueError):
        return value


@register.simple_tag
def page_links(place: str, **context):
    """The links other apps add to this place of a calendar page (presessions.page_links)."""
    return links(place, **context)
