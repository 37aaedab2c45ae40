import os
import secrets
import subprocess
import sys

from django.conf import settings

PRODUCTION = {
    "DEBUG": "0",
    "ALLOWED_HOSTS": "presessions.example.org",
    # `check` does not connect to either: it reads the settings.
    "DATABASE_URL": "postgres://presessions@db.example.org/presessions",
    "REDIS_URL": "redis://redis.example.org:6379/0",
    "TRUSTED_PROXIES": "127.0.0.1",
    "USE_X_FORWARDED_PROTO": "1",
    "SITE_URL": "https://presessions.example.org",
    "ADMINS": "Operations <ops@example.org>",
    "EMAIL_URL": "smtp+tls://presessions:secret@smtp.example.org:587",
}
NEW_WARNINGS = ("presessions.W001", "presessions.W002", "presessions.W003", "presessions.W004", "presessions.W005")


def _check(env: dict, *args) -> subprocess.CompletedProcess:
    base = {
        k: v
        for k, v in os.environ.items()
        if k not in ("DATABASE_URL", "REDIS_URL", "SENTRY_DSN", "ADMINS", "SITE_URL", "EMAIL_URL", "EMAIL_BACKEND")
    }
    return subprocess.run(
        [sys.executable, "manage.py", "check", *args],
        cwd=settings.BASE_DIR,
        env={**base, "SECRET_KEY": secrets.token_urlsafe(50), **env},
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_production_settings_pass_the_deploy_check():
    result = _check(PRODUCTION, "--deploy", "--fail-level", "WARNING")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_a_half_configured_production_is_warned_about():
    """DEBUG off on SQLite, without Redis, a proxy setting, an https SITE_URL or anyone to tell of errors."""
    result = _check({"DEBUG": "0", "ALLOWED_HOSTS": "example.org"}, "--deploy")
    output = result.stdout + result.stderr
    for warning in (*NEW_WARNINGS, "presessions.W006", "presessions.W008"):
        assert warning in output, warning
    assert "SQLite" in output and "REDIS_URL" in output and "TRUSTED_PROXIES" in output
    # One fix at a time makes its warning go away.
    fixed = _check({**PRODUCTION, "DATABASE_URL": "sqlite:////tmp/presessions-check.sqlite3"}, "--deploy")
    assert "presessions.W001" in fixed.stdout + fixed.stderr
    assert "presessions.W002" not in fixed.stdout + fixed.stderr


def test_development_is_not_warned_about():
    result = _check({"DEBUG": "1"}, "--deploy")
    assert not any(warning in result.stdout + result.stderr for warning in NEW_WARNINGS)


def test_production_refuses_to_start_without_a_secret_key():
    env = {k: v for k, v in os.environ.items() if k != "SECRET_KEY"}
    env.update(DEBUG="0", ALLOWED_HOSTS="example.org")
    result = subprocess.run(
        [sys.executable, "manage.py", "check"], cwd=settings.BASE_DIR, env=env, capture_output=True, text=True, timeout=120
    )
    assert result.returncode != 0
    assert "SECRET_KEY" in result.stderr


def test_a_site_url_outside_allowed_hosts_and_a_mistyped_proxy_are_caught():
    result = _check({**PRODUCTION, "SITE_URL": "https://presessions.upr-info.org"}, "--deploy")
    assert "presessions.W009" in result.stdout + result.stderr
    result = _check({**PRODUCTION, "TRUSTED_PROXIES": "nginx"})
    assert result.returncode != 0
    assert "presessions.E001" in result.stdout + result.stderr and "'nginx'" in result.stdout + result.stderr
