"""
Private links to applications.

A link is the application's random `link_key`, signed with the site's secret
and a salt of its own: it cannot be guessed, and a tampered link is refused
before the database is asked. Rotating `link_key` revokes every old link.
"""

from __future__ import annotations

from django.core import signing
from django.http import Http404

SALT = "applications.private-link"


def make_token(application) -> str:
    return signing.Signer(salt=SALT).sign(application.link_key)


def key_from_token(token: str) -> str:
    """Return the link key inside a valid token, or raise Http404."""
    try:
        return signing.Signer(salt=SALT).unsign(token)
    except signing.BadSignature as exc:
        raise Http404("Unknown application link") from exc
