"""
Links that leave the site, in emails and calendar files: absolute addresses and private links.

- `absolute(viewname, *args, query=…)`: reverse() made absolute with the site's public address
  (settings.SITE_URL); nothing else reads that setting.
- `sign(key, purpose)` / `unsign(token, purpose)`: a private link's token. A token is a row's
  random key signed with the site's secret and a salt for its purpose, so it cannot be guessed, a
  tampered token is refused before the database is asked, and a token made for one purpose (say,
  unsubscribing) does not open another (the application itself). Rotating the key revokes every
  old link. Tokens have one shape, "<key>:<signature>", which outbox.masking keeps out of logs.
- `dedupe_key(kind, *parts)`: the outbox's key for one message, so that queuing it again does nothing.
"""

from __future__ import annotations

import hashlib
from urllib.parse import urlencode

from django.conf import settings
from django.core import signing
from django.urls import reverse


class BadLink(Exception):
    """A private link's token that this site did not make for this purpose."""


def site_url() -> str:
    """The site's public address, e.g. "https://presessions.upr-info.org" (no trailing slash)."""
    return settings.SITE_URL


def absolute_url(path: str) -> str:
    """`path` as reverse() gives it, made absolute, e.g. "https://presessions.upr-info.org/faq/"."""
    return site_url() + path


def absolute(viewname: str, *args, query: dict | None = None) -> str:
    """The absolute address of a view, e.g. absolute("panels:changes", 54); `query` adds a query string."""
    url = absolute_url(reverse(viewname, args=args))
    return f"{url}?{urlencode(query)}" if query else url


def sign(key: str, purpose: str) -> str:
    """A private link's token for `key`; `purpose` is a salt such as "applications.private-link"."""
    return signing.Signer(salt=purpose).sign(key)


def unsign(token: str, purpose: str) -> str:
    """The key inside a token made by sign() for `purpose`; raise BadLink for anything else."""
    try:
        return signing.Signer(salt=purpose).unsign(token)
    except signing.BadSignature as exc:
        raise BadLink(token[:6]) from exc


def fingerprint(secret: str) -> str:
    """A short digest that tells two secrets apart without revealing them, for a dedupe key."""
    return hashlib.sha256(secret.encode()).hexdigest()[:12]


def dedupe_key(kind: str, *parts) -> str:
    """
    The outbox's key for one message: its kind and what makes it one of a kind, e.g.
    dedupe_key("call-alert", alert.pk, call.pk) -> "call-alert:12:3". Parts are ids, hours
    or a recipient's address, never a secret: staff can search the keys (use fingerprint()).
    """
    return ":".join([kind, *(str(part) for part in parts)])
