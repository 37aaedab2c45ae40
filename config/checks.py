"""
Deployment checks, shown by `manage.py check --deploy` (which the deployment guide runs at every
install and upgrade) when DEBUG is off: settings that start fine but leave part of the product
silently not working.
"""

from __future__ import annotations

import ipaddress
from pathlib import Path
from urllib.parse import urlsplit

from django.conf import settings
from django.core.checks import Error, Tags, Warning, register


@register(Tags.security, deploy=True)
def production_settings(app_configs=None, **kwargs):
    if settings.DEBUG:
        return []
    found = []
    if settings.DATABASES["default"]["ENGINE"].endswith("sqlite3"):
        found.append(
            Warning(
                "The database is SQLite.",
                hint="Set DATABASE_URL to a PostgreSQL database: SQLite allows one writer at a time and "
                "cannot be shared by a second web server, a worker or beat on another machine.",
                id="presessions.W001",
            )
        )
    if not settings.REDIS_URL:
        found.append(
            Warning(
                "REDIS_URL is not set: tasks run inside web requests and beat cannot run.",
                hint="Set REDIS_URL and run a Celery worker and beat (deploy/README.md). Without them, no "
                "email is retried, and no reminder, alert or expiry of unconfirmed speakers ever happens.",
                id="presessions.W002",
            )
        )
    if not settings.TRUSTED_PROXIES:
        found.append(
            Warning(
                "TRUSTED_PROXIES is empty: behind a reverse proxy, every visitor has the proxy's address.",
                hint="Set TRUSTED_PROXIES to nginx's address as gunicorn sees it (e.g. 127.0.0.1), or the rate "
                "limits and staff lock-outs count all applicants as one.",
                id="presessions.W003",
            )
        )
    if getattr(settings, "SECURE_PROXY_SSL_HEADER", None) is None and settings.SECURE_SSL_REDIRECT:
        found.append(
            Warning(
                "USE_X_FORWARDED_PROTO is not set while HTTPS is required.",
                hint="Behind a proxy that ends TLS, set USE_X_FORWARDED_PROTO=1 (and have the proxy set "
                "X-Forwarded-Proto), or every request is redirected to HTTPS again, for ever.",
                id="presessions.W004",
            )
        )
    if not settings.SITE_URL.startswith("https://"):
        found.append(
            Warning(
                f"SITE_URL ({settings.SITE_URL}) is not an https:// address.",
                hint="Links in emails (private application links among them) are built from SITE_URL: set it "
                "to the site's public https:// address.",
                id="presessions.W005",
            )
        )
    if not settings.EMAIL_BACKEND.endswith("smtp.EmailBackend"):
        found.append(
            Warning(
                f"Emails are not sent: EMAIL_BACKEND is {settings.EMAIL_BACKEND}.",
                hint="Set EMAIL_URL to the mail server (smtp+tls://user:password@host:587). Without it every "
                "email, private links included, is written to files in VAR_DIR/mail.",
                id="presessions.W008",
            )
        )
    site_host = urlsplit(settings.SITE_URL).hostname or ""
    if site_host and not _host_allowed(site_host):
        found.append(
            Warning(
                f"SITE_URL's host ({site_host}) is not in ALLOWED_HOSTS.",
                hint="Every link in an email would lead to a 400 page: add the host to ALLOWED_HOSTS, or correct SITE_URL.",
                id="presessions.W009",
            )
        )
    if not settings.SENTRY_DSN and not settings.ADMINS:
        found.append(
            Warning(
                "Neither SENTRY_DSN nor ADMINS is set: server errors are reported to nobody.",
                hint="Set SENTRY_DSN (Sentry or GlitchTip), or ADMINS to the addresses that should receive them.",
                id="presessions.W006",
            )
        )
    return found


def _host_allowed(host: str) -> bool:
    from django.http.request import validate_host

    return validate_host(host, settings.ALLOWED_HOSTS)


@register(Tags.security)
def trusted_proxies(app_configs=None, **kwargs):
    """A mistyped TRUSTED_PROXIES would otherwise fail every request, at the first one."""
    found = []
    for entry in settings.TRUSTED_PROXIES:
        try:
            ipaddress.ip_network(entry.strip(), strict=False)
        except ValueError:
            found.append(
                Error(
                    f"TRUSTED_PROXIES holds {entry!r}, which is not an address or a network.",
                    hint="Give addresses or networks, comma-separated: 127.0.0.1,10.0.0.0/8 (not host names).",
                    id="presessions.E001",
                )
            )
    return found


@register(Tags.translation)
def translations_compiled(app_configs=None, **kwargs):
    """French and Spanish fall back to English, silently, when their .mo files were not built."""
    missing = [
        str(po.relative_to(Path(folder).parent))
        for folder in settings.LOCALE_PATHS
        for po in Path(folder).glob("*/LC_MESSAGES/*.po")
        if not po.with_suffix(".mo").exists() or po.with_suffix(".mo").stat().st_mtime < po.stat().st_mtime
    ]
    if not missing:
        return []
    return [
        Warning(
            f"Translations are not compiled, or older than their sources: {', '.join(sorted(missing))}.",
            hint="Run `manage.py compiletranslations` when building the release (deploy/README.md).",
            id="presessions.W007",
        )
    ]
