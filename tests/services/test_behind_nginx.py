"""
Behind a real nginx (Debian's package, with deploy/nginx/), the rate limit counts each
applicant on their own address, not the proxy's: one client is limited after 20 posts a minute,
while 25 clients through the same proxy all get through; a forged X-Forwarded-For changes nothing.
"""

import os
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.conftest import service_unavailable
from tests.faults.stack import NGINX, Client, _port_open, application_data, wait_for, write_nginx_conf
from tests.services.test_private_links_in_logs import ROOT, SETUP


@pytest.fixture(scope="module")
def proxied(tmp_path_factory):
    if not Path(NGINX).exists():
        service_unavailable("nginx is not installed")
    from bench.services import free_port

    folder = tmp_path_factory.mktemp("nginx")
    folder.chmod(0o777)
    web_port, proxy_port = free_port(), free_port()
    env = {
        **{k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL")},
        "DATABASE_URL": f"sqlite:///{folder / 'db.sqlite3'}",
        "DEBUG": "0",
        "SECRET_KEY": "nginx-" + "w4" * 30,
        "ALLOWED_HOSTS": "127.0.0.1",
        "SECURE_SSL_REDIRECT": "0",
        "COOKIES_SECURE": "0",
        "STATICFILES_BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage",
        "EMAIL_BACKEND": "django.core.mail.backends.locmem.EmailBackend",
        "TRUSTED_PROXIES": "127.0.0.1",
        # An hour's window: 20 a minute made a test fail whenever its posts crossed a minute's window.
        "APPLICATION_RATELIMIT": "20/h",
        "GUNICORN_TIMEOUT": "5",  # a worker held longer than this by a slow client would be killed
    }
    run = {"cwd": ROOT, "env": env, "check": True, "capture_output": True, "text": True}
    subprocess.run([sys.executable, "manage.py", "migrate", "--noinput"], **run)
    subprocess.run([sys.executable, "manage.py", "load_calendar"], **run)
    subprocess.run([sys.executable, "manage.py", "shell", "-c", SETUP], **run)
    form = subprocess.run(
        [
            sys.executable,
            "manage.py",
            "shell",
            "-c",
            "from presessions.models import StateReview, Theme; r = StateReview.objects.get(session__number=60); "
            "print(r.pk, r.country.code, *Theme.objects.order_by('pk').values_list('pk', flat=True)[:2])",
        ],
        **run,
    ).stdout.split()
    # One worker: the rate limit's counters live in the process when there is no Redis.
    web = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "config.wsgi", "-c", "gunicorn.conf.py", "--workers", "1"]
        + ["--bind", f"127.0.0.1:{web_port}"],
        cwd=ROOT,
        env=env,
        stdout=open(folder / "web.log", "w"),
        stderr=subprocess.STDOUT,
    )
    conf = write_nginx_conf(folder, proxy_port, web_port, folder / "access.log")
    proxy = subprocess.Popen([NGINX, "-c", str(conf), "-p", str(folder)], stderr=subprocess.STDOUT)
    try:
        wait_for(lambda: _port_open(web_port) and _port_open(proxy_port), 30, "gunicorn and nginx")
        yield {
            "proxy": proxy_port,
            "web": web_port,
            "form": {"number": 60, "review": int(form[-4]), "country": form[-3], "themes": [int(form[-2]), int(form[-1])]},
            "folder": folder,
        }
    finally:
        proxy.terminate()
        web.terminate()
        proxy.wait(10)
        web.wait(10)


def _apply(port, form, email, source, headers=None) -> int:
    client = Client(port, source=source)
    status, tokens = client.form_tokens("/sessions/60/apply/")
    assert status == 200
    return client.request("POST", "/sessions/60/apply/", application_data(form, email, tokens))[0]


def test_one_client_is_limited_and_many_clients_through_one_proxy_are_not(proxied):
    form, port = proxied["form"], proxied["proxy"]
    alone = [_apply(port, form, f"alone-{i}@example.org", "127.0.3.1") for i in range(25)]
    assert alone.count(302) == 20 and alone[20:] == [429] * 5
    many = [_apply(port, form, f"many-{i}@example.org", f"127.0.4.{i + 1}") for i in range(25)]
    assert many == [302] * 25
    log = (proxied["folder"] / "web.log").read_text()
    assert "127.0.4.25 " in log  # gunicorn's access log names the client, not the proxy


class ForgingClient(Client):
    """A client that writes its own X-Forwarded-For, a new made-up address on every request."""

    def request(self, method, path, data=None):
        import http.client

        self.forged = getattr(self, "forged", 0) + 1
        original = http.client.HTTPConnection.putheader
        forged = f"10.9.8.{self.forged}"

        def putheader(connection, header, *values):
            original(connection, header, *values)
            if header == "Host":
                original(connection, "X-Forwarded-For", forged)

        http.client.HTTPConnection.putheader = putheader
        try:
            return super().request(method, path, data)
        finally:
            http.client.HTTPConnection.putheader = original


@pytest.mark.parametrize(("through", "source"), [("proxy", "127.0.5.1"), ("web", "127.0.5.2")])
def test_a_forged_forwarded_for_header_changes_nothing(proxied, through, source):
    """Through nginx, or straight to gunicorn (an untrusted peer), a client that forges the header is still itself."""
    client = ForgingClient(proxied[through], source=source)
    statuses = []
    for i in range(22):
        status, tokens = client.form_tokens("/sessions/60/apply/")
        data = application_data(proxied["form"], f"forged-{through}-{i}@example.org", tokens)
        statuses.append(client.request("POST", "/sessions/60/apply/", data)[0])
    assert statuses == [302] * 20 + [429] * 2


def test_private_links_are_masked_in_nginxs_access_log(proxied):
    key, signature = "AbCdEfGhIjKlMnOpQrStUvWxYz012345", "Qm3Pz8Wc1Kx5Nv7Rb2Ty4Lh6Js9Df0Ga3Se5Uo8Ii1"
    client = Client(proxied["proxy"], source="127.0.6.1")
    paths = [
        f"/applications/{key}:{signature}/edit/",
        f"/%61pplications/{key}%3A{signature}/",
        f"/faq/?next=%2Fapplications%2F{key}%3A{signature}",
        # Shapes an attacker tried: doubled slash, a language prefix, a ";", a made-up prefix, a raw query.
        f"//applications/{key}:{signature}/",
        f"/fr/applications/{key}:{signature}/",
        f"/applications;/{key}:{signature}/",
        f"/x/{key}:{signature}/",
        f"/?next=/applications/{key}:{signature}/",
        f"/alerts/{key}/",
        "/about/?spoof=query-string-value",
    ]
    for path in paths:
        client.request("GET", path)
    time.sleep(0.3)
    whole = (proxied["folder"] / "access.log").read_text()
    assert key[6:] not in whole and signature not in whole
    log = "\n".join(line for line in whole.splitlines() if line.startswith("127.0.6.1 "))
    assert len(log.splitlines()) == len(paths)
    assert key[6:] not in log and signature not in log
    assert "query-string-value" not in log and "?" not in log  # the path only, never a query string
    assert log.count("/applications/AbCdEf...") >= 2  # the key's first characters tell applicants apart
    assert "/about/" in log and "/faq/" in log


def test_a_slow_upload_does_not_hold_the_only_worker(proxied):
    """nginx takes in a slow body before gunicorn sees it: meanwhile the site answers, and the upload succeeds."""
    import http.client
    import threading

    from tests.factories import PDF_BYTES

    client = Client(proxied["proxy"], source="127.0.7.1")
    status, tokens = client.form_tokens("/sessions/60/apply/")
    fields = application_data(proxied["form"], "slow@example.org", tokens)
    boundary = "slowboundary"
    parts = []
    for name, value in fields.items():
        for item in value if isinstance(value, list) else [value]:
            parts.append(f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{item}\r\n'.encode())
    parts.append(
        f'--{boundary}\r\nContent-Disposition: form-data; name="app-report_file"; filename="r.pdf"\r\n'
        "Content-Type: application/pdf\r\n\r\n".encode()
        + PDF_BYTES
        + f"\r\n--{boundary}--\r\n".encode()
    )
    body = b"".join(parts)
    result = {}

    def trickle():  # the whole body over about 8 s: longer than gunicorn's 5 s timeout
        connection = http.client.HTTPConnection("127.0.0.1", proxied["proxy"], timeout=60, source_address=("127.0.7.1", 0))
        connection.putrequest("POST", "/sessions/60/apply/")
        connection.putheader("Content-Type", f"multipart/form-data; boundary={boundary}")
        connection.putheader("Content-Length", str(len(body)))
        connection.putheader("Cookie", "; ".join(f"{k}={v}" for k, v in client.cookies.items()))
        connection.endheaders()
        step = len(body) // 40 + 1
        for start in range(0, len(body), step):
            connection.send(body[start : start + step])
            time.sleep(0.2)
        response = connection.getresponse()
        result["status"], result["location"] = response.status, response.getheader("Location", "")
        result["body"] = response.read().decode()

    thread = threading.Thread(target=trickle)
    thread.start()
    time.sleep(2)
    started = time.monotonic()
    assert Client(proxied["proxy"], source="127.0.7.2").request("GET", "/healthz")[0] == 200
    assert time.monotonic() - started < 1  # the worker was not waiting for the slow body
    thread.join(60)
    assert (result["status"], result["location"]) == (302, "/sessions/60/apply/sent/"), re.findall(
        r"invalid-feedback[^>]*>\s*(?:<[^>]+>)*([^<]+)", result.get("body", "")
    )


@pytest.mark.parametrize(("language", "heading"), [("en", "The file is too large"), ("fr", "Le fichier est trop volumineux")])
def test_a_body_larger_than_nginx_takes_gets_the_sites_own_page(proxied, language, heading):
    import http.client

    connection = http.client.HTTPConnection("127.0.0.1", proxied["proxy"], timeout=10)
    connection.putrequest("POST", "/sessions/60/apply/")
    connection.putheader("Content-Type", "multipart/form-data; boundary=x")
    connection.putheader("Content-Length", str(60 * 1024 * 1024))
    connection.putheader("Cookie", f"django_language={language}")
    connection.endheaders()
    response = connection.getresponse()
    page = response.read().decode()
    assert response.status == 413 and heading in page
