"""Absolute links for emails and notices: the site's public address (SITE_URL) and a path from reverse()."""

from django.conf import settings


def absolute_url(path: str) -> str:
    """`path` as reverse() gives it, made absolute with SITE_URL, e.g. "https://presessions.upr-info.org/faq/"."""
    return settings.SITE_URL + path
