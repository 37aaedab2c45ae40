from django import template

from presessions.countries import display_name

register = template.Library()


@register.filter
def country_name(code: str) -> str:
    """The name of a country from its ISO code, in the active language ("KE" -> "Kenya", "Kenia")."""
    return display_name(code) if code else ""
