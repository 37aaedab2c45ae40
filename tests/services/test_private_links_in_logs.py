"""
Private links never reach a log: gunicorn started as in production (gunicorn.conf.py, DEBUG off),
every private route requested with the link as it is, percent-encoded and double-encoded, and
the whole log searched for the link's key and signature.
"""

import os
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

import pytest

from tests.e2e.conftest import free_port

ROOT = Path(__file__).resolve().parents[2]

SETUP = """
from applications.tokens import ALERT_SALT, UNSUBSCRIBE_SALT, make_token, sign
from applications.models import CallAlert
from tests.factories import make_application, make_open_call, make_session
import datetime as dt
from django.utils import timezone
monday = timezone.localdate() + dt.timedelta(weeks=14)
session = make_session(number=60, start=monday - dt.timedelta(days=monday.weekday()), states=("KE",))
make_open_call(session)
application = make_application(session.reviews.get(), name="Logged Forum")
alert = CallAlert.objects.create(email="alert@example.org", country="KE")
print(make_token(application), sign(application.link_key, UNSUBSCRIBE_SALT), sign(alert.key, ALERT_SALT))
"""


def _request(base: str, path: str, data: bytes | None = None) -> int:
    try:
        with urllib.request.urlopen(urllib.request.Request(base + path, data=data), timeout=10) as response:
            return response.status
    except urllib.error.HTTPError as error:
        return error.code


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    folder = tmp_path_factory.mktemp("logs")
    port = free_port()
    env = {
        **{k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL")},
        "DATABASE_URL": f"sqlite:///{folder / 'db.sqlite3'}",
        "DEBUG": "0",
        "SECRET_KEY": "logs-" + "q8" * 30,
        "ALLOWED_HOSTS": "127.0.0.1",
        "SECURE_SSL_REDIRECT": "0",
        "COOKIES_SECURE": "0",
        "STATICFILES_BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage",
        "EMAIL_BACKEND": "django.core.mail.backends.locmem.EmailBackend",
        "LOG_LEVEL": "INFO",
    }
    run = {"cwd": ROOT, "env": env, "check": True, "capture_output": True, "text": True}
    subprocess.run([sys.executable, "manage.py", "migrate", "--noinput"], **run)
    tokens = subprocess.run([sys.executable, "manage.py", "shell", "-c", SETUP], **run).stdout.split()[-3:]
    log = folder / "web.log"
    web = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "config.wsgi", "-c", "gunicorn.conf.py", "--workers", "1"]
        + ["--bind", f"127.0.0.1:{port}"],
        cwd=ROOT,
        env=env,
        stdout=open(log, "w"),
        stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    for _ in range(150):
        try:
            if _request(base, "/healthz") == 200:
                break
        except OSError:
            time.sleep(0.2)
    else:
        pytest.fail(f"gunicorn did not start: {log.read_text()[-2000:]}")
    yield base, tokens, log
    web.terminate()
    web.wait(10)


def test_no_private_link_reaches_the_access_or_error_log(served):
    base, (token, unsubscribe, alert), log = served
    once = urllib.parse.quote(token, safe="")
    twice = urllib.parse.quote(once, safe="")
    paths = []
    for link in (token, once):
        paths += [f"/applications/{link}/", f"/applications/{link}/edit/", f"/applications/{link}/withdraw/"]
        paths += [f"/applications/{link}/participation/"]
    paths += [f"/applications/{unsubscribe}/reminders-off/", f"/alerts/{alert}/confirm/", f"/alerts/{alert}/unsubscribe/"]
    # In query strings, as the old language links carried them, and in a 404's warning.
    paths += [f"/language/?next=%2Fapplications%2F{once}%2F", f"/faq/?next=%252Fapplications%252F{twice}%252F"]
    paths += [f"/applications/{token}x/", f"/no-such-page/{token}/"]
    # Percent-escapes a client may choose for any character, even where no browser would.
    key, signature = token.split(":")
    escape = lambda c: "%" + format(ord(c), "02X")  # noqa: E731
    paths += [f"/%61pplications/{key[:-2]}{escape(key[-2])}{key[-1]}:{signature}/"]
    paths += [f"/%61pplications/{key}%3A{escape(signature[0])}{signature[1:]}/"]
    statuses = {path: _request(base, path) for path in paths}
    assert statuses[f"/applications/{token}/"] == 200
    assert statuses[f"/applications/{once}/"] == 200
    body = urllib.parse.urlencode({"language": "fr", "next": f"/applications/{token}/"}).encode()
    assert _request(base, "/language/", data=body) == 200  # followed the 303 back to the private page
    time.sleep(0.5)
    text = log.read_text()
    key, signature = token.split(":")
    for secret in (key[8:], signature, unsubscribe.split(":")[1], alert.split(":")[0][8:], alert.split(":")[1]):
        assert secret not in text
    print(f"{len(paths) + 1} requests to private routes, {text.count(' /applications/')} masked lines, no link in full")
    assert text.count(key[:6] + "…") >= 8  # the requests were logged, masked


def test_no_private_link_reaches_the_console_in_debug_mode():
    """`make run` serves with DEBUG on, where Django logs 404s and CSRF refusals through a console handler of its own."""
    token = "AbCdEfGhIjKlMnOpQrStUvWxYz012345:Qm3Pz8Wc1Kx5Nv7Rb2Ty4Lh6Js9Df0Ga3Se5Uo8Ii1"
    code = (
        "import django, logging; django.setup(); "
        f"logging.getLogger('django.request').warning('Not Found: %s', '/applications/{token}/'); "
        f"logging.getLogger('django.security.csrf').warning('Forbidden (%s): %s', 'CSRF cookie not set.', '/applications/{token}/withdraw/'); "
        f"logging.getLogger('django.server').info('\"GET /applications/{token}/ HTTP/1.1\" 200 5000')"
    )
    env = {**os.environ, "DEBUG": "1", "DJANGO_SETTINGS_MODULE": "config.settings"}
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, check=True)
    output = result.stdout + result.stderr
    assert output.count("AbCdEf…") == 3
    assert "Qm3Pz8Wc1Kx5Nv7Rb2Ty4Lh6Js9Df0Ga3Se5Uo8Ii1" not in output and "GhIjKlMnOp" not in output
