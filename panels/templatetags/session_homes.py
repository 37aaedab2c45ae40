from django import template

from presessions.models import Session

register = template.Library()


@register.simple_tag
def recent_sessions(limit: int = 4):
    """The latest sessions with a call, for the links to their staff homes on the admin's index."""
    return list(Session.objects.filter(call__isnull=False).order_by("-number").values_list("number", flat=True)[:limit])
