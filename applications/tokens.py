"""
Private links to applications and alert subscriptions.

A link is a row's random key, signed with the site's secret and a salt for
its purpose: it cannot be guessed, a tampered link is refused before the
database is asked, and a link made for one purpose (say, unsubscribing) does
not open another (the application itself). Rotating the key revokes every
old link.
"""

from __future__ import annotations

from django.core import signing
from django.http import Http404

SALT = "applications.private-link"
UNSUBSCRIBE_SALT = "applications.reminders-off"
ALERT_SALT = "applications.call-alert"
EMAIL_CHANGE_SALT = "applications.email-change"


def sign(key: str, salt: str = SALT) -> str:
    return signing.Signer(salt=salt).sign(key)


def make_token(application) -> str:
    return sign(application.link_key)


def key_from_token(token: str, salt: str = SALT) -> str:
    """Return the key inside a valid token, or raise Http404."""
    try:
        return signing.Signer(salt=salt).unsign(token)
    except signing.BadSignature as exc:
        raise Http404("Unknown link") from exc
