"""
A server error reaches someone: by mail to ADMINS, or Sentry (GlitchTip) when SENTRY_DSN is set; and
neither report carries what the applicant typed, their cookies, or the private link in full.
"""

import gzip
import json
import os
import subprocess
import sys
import threading
import zlib
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from django.conf import settings
from django.test import Client

from tests.config.error_urls import PRIVATE_LINK

SECRET_PART = PRIVATE_LINK.split("/")[2][6:]  # what comes after the six characters a log may keep
TYPED = {"speaker_name": "Afi Mensah-Quist", "email": "afi@example.org"}


@pytest.mark.urls("tests.config.error_urls")
def test_a_server_error_is_mailed_to_admins_without_the_applicants_data(settings, mailoutbox):
    settings.ADMINS = [("Operations", "ops@example.org")]
    settings.REDIS_URL = "redis://:Hunter2RedisPw@redis.internal:6379/0"
    settings.CELERY_BROKER_URL = settings.REDIS_URL
    client = Client(raise_request_exception=False)
    client.cookies["sessionid"] = "s3ss10n-v4lue-of-the-visitor"
    client.cookies["messages"] = "m3ssage-c00kie-with-new.address@defender.example"
    client.cookies["preferences"] = "pr3fs-c00kie-afi@example.org"
    # The private link in the path, and again in the Referer, as a browser sends it.
    from django.core.files.uploadedfile import SimpleUploadedFile

    upload = SimpleUploadedFile("afi-mensah-quist-report.pdf", b"%PDF-1.4", content_type="application/pdf")
    response = client.post(
        f"{PRIVATE_LINK}broken/", {**TYPED, "report": upload}, HTTP_REFERER=f"https://example.org{PRIVATE_LINK}"
    )
    assert response.status_code == 500
    assert len(mailoutbox) == 1
    message = mailoutbox[0]
    assert message.to == ["ops@example.org"]
    body = message.body + "".join(str(alternative[0]) for alternative in getattr(message, "alternatives", []))
    assert "RuntimeError" in body  # the report is useful: what failed, and where
    assert "speaker_name" in body  # the field's name, not its value
    assert PRIVATE_LINK.split("/")[2][:6] in body  # the link's first characters, to tell applicants apart
    for secret in (
        *TYPED.values(),
        SECRET_PART,
        "s3ss10n-v4lue-of-the-visitor",
        "Hunter2RedisPw",
        "m3ssage-c00kie",
        "pr3fs-c00kie",
        "afi-mensah-quist-report",
    ):
        assert secret not in body and secret not in message.subject, secret


@pytest.mark.urls("tests.config.error_urls")
def test_the_same_error_is_mailed_once_in_ten_minutes(settings, mailoutbox):
    """Anyone can repeat a request that fails: the mailboxes are not flooded."""
    settings.ADMINS = [("Operations", "ops@example.org")]
    client = Client(raise_request_exception=False)
    for _ in range(5):
        assert client.post("/broken/", TYPED).status_code == 500
    assert len(mailoutbox) == 1
    # Another error of the same kind, raised elsewhere, is still told: the repeat is known by where it was raised.
    assert client.get("/elsewhere/").status_code == 500
    assert len(mailoutbox) == 2
    assert "another failure" in mailoutbox[1].body


def test_admins_are_told_nothing_while_debug_is_on(settings, mailoutbox):
    """The handler is the one in LOGGING, with Django's require_debug_false filter."""
    handler = settings.LOGGING["handlers"]["mail_admins"]
    assert handler["class"] == "config.errors.PrivateAdminEmailHandler"
    assert "require_debug_false" in handler["filters"] and "mask_private_links" in handler["filters"]
    assert "mail_admins" in settings.LOGGING["loggers"]["django"]["handlers"]


class _Sink(BaseHTTPRequestHandler):
    received: list[bytes] = []

    def do_POST(self):  # noqa: N802 -- http.server's name
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        encoding = self.headers.get("Content-Encoding", "")
        if encoding == "gzip":
            body = gzip.decompress(body)
        elif encoding == "br":
            import brotli

            body = brotli.decompress(body)
        elif encoding == "deflate":
            body = zlib.decompress(body)
        _Sink.received.append(body)
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write(b"{}")

    def log_message(self, *args):
        pass


SCRIPT = """
import django, sentry_sdk
django.setup()
from django.core.management import call_command
call_command("migrate", verbosity=0)
from django.test import Client
from django.test.utils import override_settings
with override_settings(ROOT_URLCONF="tests.config.error_urls"):
    client = Client(raise_request_exception=False)
    client.cookies["sessionid"] = "s3ss10n-v4lue-of-the-visitor"
    print(client.post("/broken/", {"speaker_name": "Afi Mensah-Quist", "email": "afi@example.org"}).status_code)
sentry_sdk.flush(5)
"""


def test_with_sentry_dsn_the_error_goes_to_sentry_scrubbed_and_not_by_mail():
    """A real sentry-sdk posting to a Sentry stand-in on loopback (as the SMTP sink stands in for mail)."""
    _Sink.received = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Sink)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    port = server.server_address[1]
    env = {
        **{k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL")},
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "DEBUG": "0",
        "SECRET_KEY": "sentry-" + "k9" * 30,
        "ALLOWED_HOSTS": "testserver",
        "SECURE_SSL_REDIRECT": "0",
        "SENTRY_DSN": f"http://publickey@127.0.0.1:{port}/1",
        "ADMINS": "Operations <ops@example.org>",
        "EMAIL_BACKEND": "django.core.mail.backends.console.EmailBackend",
        "DATABASE_URL": "sqlite://:memory:",
    }
    try:
        result = subprocess.run(
            [sys.executable, "-c", SCRIPT], cwd=settings.BASE_DIR, env=env, capture_output=True, text=True, timeout=120
        )
    finally:
        server.shutdown()
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1] == "500"
    events = [json.loads(line) for body in _Sink.received for line in body.splitlines() if line.startswith(b"{")]
    errors = [event for event in events if event.get("exception")]
    assert errors, f"Sentry received no error event: {_Sink.received!r}"
    text = json.dumps(errors)
    assert "RuntimeError" in text
    assert "/broken/" in text
    for secret in (*TYPED.values(), SECRET_PART, "s3ss10n-v4lue-of-the-visitor"):
        assert secret not in text, secret
    # Sentry replaces the mail: ADMINS receive nothing (the console mail backend would print it).
    assert "Subject:" not in result.stdout
