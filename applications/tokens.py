"""
The purposes of this app's private links (outbox.links signs and reads every token).

A token made for one purpose does not open another: the link to an application does not
unsubscribe from reminders, nor the reverse.
"""

from __future__ import annotations

from django.http import Http404

from outbox import links

SALT = "applications.private-link"
UNSUBSCRIBE_SALT = "applications.reminders-off"
ALERT_SALT = "applications.call-alert"
EMAIL_CHANGE_SALT = "applications.email-change"


def sign(key: str, salt: str = SALT) -> str:
    return links.sign(key, salt)


def make_token(application) -> str:
    return sign(application.link_key)


def key_from_token(token: str, salt: str = SALT) -> str:
    """Return the key inside a valid token, or raise Http404."""
    try:
        return links.unsign(token, salt)
    except links.BadLink as exc:
        raise Http404("Unknown link") from exc
