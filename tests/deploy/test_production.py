"""
The production smoke test: the steps of deploy/README.md, on loopback, then a visit over HTTPS.

It fills in .env.example as the guide says, runs `presessions-manage` for the build steps (compile
the translations, collect static files, migrate, `check --deploy` with no warning), starts nginx
with deploy/nginx/ and a self-signed certificate, and gunicorn, the Celery worker and beat with
the ExecStart lines of deploy/systemd/ and the env file; PostgreSQL, Redis and an SMTP sink are
its own, on loopback. What differs from a server, and only that: the folders (a temporary
folder stands for /etc/presessions and /srv/presessions), the ports (free ones instead of 80 and
443), no systemd (there is none in CI: the units' commands are run directly) and no user switch.

Then, through nginx over HTTPS: HTTP/2, the redirect from HTTP, HSTS, secure cookies, a browser
that switches language and posts a form, an upload just under the size limit (stored, confirmed by
email through the worker) and one over it, the client's own address in gunicorn's log, a 304, and
the readiness check turning unhealthy within a minute of the worker stopping, and healthy again.

Runs with `make smoke` (SMOKE=1), which `.ci/run` runs.
"""

from __future__ import annotations

import http.client
import io
import json
import os
import re
import secrets
import shlex
import shutil
import socket
import ssl
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import pytest

from bench.services import free_port
from tests.conftest import REPORT, service_unavailable
from tests.faults.stack import ROOT, Stack, _port_open, deploy_nginx_files, missing_binaries, nginx_main_conf, wait_for

pytestmark = pytest.mark.skipif(os.environ.get("SMOKE") != "1", reason="the production smoke test runs with `make smoke`")

DEPLOY = ROOT / "deploy"
VENV = Path(sys.prefix)
DOMAIN = "localhost"
CHROMIUM = "/usr/bin/chromium"


def set_env_value(text: str, key: str, value: str) -> str:
    """What the guide asks of the operator: give KEY a value in the env file, uncommenting it if needed."""
    pattern = re.compile(rf"^#? ?{key}=.*$", flags=re.MULTILINE)
    assert pattern.search(text), f"{key} is not in .env.example"
    return pattern.sub(lambda _match: f"{key}={value}", text, count=1)


def read_env_file(path: Path) -> dict[str, str]:
    """The env file as presessions-manage (and systemd) read it."""
    namespace: dict = {}
    exec(compile((DEPLOY / "presessions-manage").read_text(), "presessions-manage", "exec"), namespace)  # noqa: S102
    return namespace["read_env_file"](str(path))


def unit_command(name: str, folder: Path) -> list[str]:
    """ExecStart of deploy/systemd/presessions-<name>.service, with the temporary folder for /srv/presessions."""
    unit = (DEPLOY / "systemd" / f"presessions-{name}.service").read_text()
    command = re.search(r"^ExecStart=(.+)$", unit, flags=re.MULTILINE).group(1)
    assert re.search(r"^WorkingDirectory=/srv/presessions/app$", unit, flags=re.MULTILINE)
    assert re.search(r"^EnvironmentFile=/etc/presessions/env$", unit, flags=re.MULTILINE)
    command = command.replace("/srv/presessions/venv", str(VENV)).replace("/srv/presessions/var", str(folder / "var"))
    return shlex.split(command)


class _TLSConnection(http.client.HTTPSConnection):
    """To 127.0.0.1 from a chosen source address, with the certificate checked for DOMAIN."""

    def __init__(self, port: int, context: ssl.SSLContext, source: str):
        super().__init__(DOMAIN, port, context=context, timeout=60, source_address=(source, 0))

    def connect(self):
        raw = socket.create_connection(("127.0.0.1", self.port), self.timeout, self.source_address)
        self.sock = self._context.wrap_socket(raw, server_hostname=DOMAIN)


class Site:
    def __init__(self, stack: Stack, folder: Path, env_file: Path, ports: dict, cert: Path):
        self.stack, self.folder, self.env_file, self.ports, self.cert = stack, folder, env_file, ports, cert
        self.env = {**read_env_file(env_file), "PATH": os.environ["PATH"]}

    def manage(self, *args: str) -> str:
        """`presessions-manage <args>`, as the guide runs it (with the temporary folders)."""
        result = subprocess.run(
            [sys.executable, str(DEPLOY / "presessions-manage"), *args],
            env={
                **os.environ,
                "PRESESSIONS_ENV_FILE": str(self.env_file),
                "PRESESSIONS_APP": str(ROOT),
                "PRESESSIONS_VENV": str(VENV),
                "PRESESSIONS_USER": "",
            },
            capture_output=True,
            text=True,
            timeout=600,
        )
        assert result.returncode == 0, f"presessions-manage {' '.join(args)}:\n{result.stdout}\n{result.stderr}"
        return result.stdout + result.stderr

    def start(self, name: str):
        self.stack._spawn(name, unit_command(name, self.folder), cwd=ROOT, env=self.env)

    def tls(self, alpn=("http/1.1",)) -> ssl.SSLContext:
        context = ssl.create_default_context(cafile=str(self.cert))
        context.set_alpn_protocols(list(alpn))
        return context

    def https(self, method: str, path: str, body=None, headers=None, source: str = "127.0.0.1"):
        """One request to nginx over HTTPS from `source`, checking the certificate against the site's name."""
        connection = _TLSConnection(self.ports["https"], self.tls(), source)
        try:
            connection.request(method, path, body=body, headers={"Host": f"{DOMAIN}:{self.ports['https']}", **(headers or {})})
            response = connection.getresponse()
            return response.status, response.headers, response.read()
        finally:
            connection.close()

    def ready(self) -> tuple[int, dict]:
        status, _headers, body = self.https("GET", "/readyz")
        return status, json.loads(body)


@pytest.fixture(scope="module")
def site():
    missing = missing_binaries()
    if not shutil.which("openssl"):
        missing.append("openssl")
    if missing:
        service_unavailable(f"the production smoke test needs {', '.join(missing)}")
    # Not pytest's temporary folder: PostgreSQL's user must be able to reach it.
    folder = Path(tempfile.mkdtemp(prefix="presessions-smoke-"))
    folder.chmod(0o777)
    stack = Stack(folder=folder)
    stack.logs = folder / "logs"
    stack.logs.mkdir()
    stack.logs.chmod(0o777)
    ports = {name: free_port() for name in ("postgres", "redis", "smtp", "web", "http", "https")}
    stack.ports = ports
    stack.start_postgres(init=True)
    stack.start_redis()
    stack.start_sink()
    try:
        # Step: the folders, as the guide makes them: VAR_DIR closed to others (uploads), static files open.
        (folder / "var").mkdir(mode=0o750)
        (folder / "var").chmod(0o750)
        # Step: the env file, from .env.example.
        etc = folder / "etc" / "presessions"
        etc.mkdir(parents=True)
        text = (ROOT / ".env.example").read_text()
        for key, value in {
            "SECRET_KEY": secrets.token_urlsafe(50),
            "ALLOWED_HOSTS": DOMAIN,
            "SITE_URL": f"https://{DOMAIN}:{ports['https']}",
            "DATABASE_URL": f"postgres://postgres@127.0.0.1:{ports['postgres']}/presessions",
            "REDIS_URL": f"redis://127.0.0.1:{ports['redis']}/0",
            "EMAIL_URL": f"smtp://127.0.0.1:{ports['smtp']}",
            "VAR_DIR": str(folder / "var"),
            "STATIC_ROOT": str(folder / "static"),
            "GUNICORN_BIND": f"127.0.0.1:{ports['web']}",
            "WEB_CONCURRENCY": "2",
        }.items():
            text = set_env_value(text, key, value)
        env_file = etc / "env"
        env_file.write_text(text)
        env_file.chmod(0o600)
        # Step: a certificate (the guide's self-signed variant, for a server without a public name yet).
        cert, key = etc / "fullchain.pem", etc / "privkey.pem"
        subprocess.run(
            ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", f"/CN={DOMAIN}"]
            + ["-addext", f"subjectAltName=DNS:{DOMAIN}", "-keyout", str(key), "-out", str(cert)],
            check=True,
            capture_output=True,
        )
        site = Site(stack, folder, env_file, ports, cert)
        stack.env = site.env
        # Step: build and check.
        # As root, in the code's folder, without the env file (the guide's command).
        subprocess.run(
            [str(VENV / "bin" / "python"), "manage.py", "compiletranslations"], cwd=ROOT, check=True, capture_output=True
        )
        site.manage("collectstatic", "--noinput", "--verbosity", "0")
        site.manage("migrate", "--noinput")
        site.manage("load_calendar")
        check = site.manage("check", "--deploy", "--fail-level", "WARNING")
        assert "no issues" in check, check
        site.demo = site.manage("load_demo", "--even-with-debug-off")  # not a guide step: data for the visit
        # Step: nginx, with deploy/nginx/ filled in.
        filled = deploy_nginx_files(
            folder,
            {
                "UPSTREAM": f"127.0.0.1:{ports['web']}",
                "STATIC_ROOT": str(folder / "static"),
                "DOMAIN": DOMAIN,
                "TLS_CERT": str(cert),
                "TLS_KEY": str(key),
            },
        )
        server = filled["presessions.conf"]
        server = re.sub(r"listen 80([ ;])", rf"listen 127.0.0.1:{ports['http']}\1", server)
        server = re.sub(r"listen 443 ", f"listen 127.0.0.1:{ports['https']} ", server)
        server = re.sub(r"^\s*listen \[::\]:\d+.*$", "", server, flags=re.MULTILINE)
        server = server.replace("/var/log/nginx/", f"{stack.logs}/")
        # nginx's workers as Debian's www-data, as on a server: the folders' modes must let it read the static files.
        nginx = nginx_main_conf(folder, server, user="www-data")
        from tests.faults.stack import NGINX

        tested = subprocess.run([NGINX, "-t", "-c", str(nginx), "-p", str(folder)], capture_output=True, text=True)
        assert tested.returncode == 0, tested.stderr
        stack._spawn("nginx", [NGINX, "-c", str(nginx), "-p", str(folder)])
        # Step: the services, as the systemd units start them.
        for name in ("web", "worker", "beat"):
            site.start(name)
        wait_for(lambda: _port_open(ports["web"]) and _port_open(ports["https"]), 60, "gunicorn and nginx")
        yield site
    finally:
        stack.stop()
        shutil.rmtree(folder, ignore_errors=True)


def test_tls_http2_redirect_and_hsts(site):
    raw = socket.create_connection(("127.0.0.1", site.ports["https"]), timeout=10)
    with site.tls(alpn=("h2", "http/1.1")).wrap_socket(raw, server_hostname=DOMAIN) as tls:
        assert tls.selected_alpn_protocol() == "h2"
        assert tls.version() in ("TLSv1.2", "TLSv1.3")
    plain = http.client.HTTPConnection("127.0.0.1", site.ports["http"], timeout=10)
    plain.request("GET", "/calendar/?x=1", headers={"Host": DOMAIN})
    response = plain.getresponse()
    assert response.status == 301
    assert response.headers["Location"] == f"https://{DOMAIN}/calendar/?x=1"
    # Another name, over HTTP or HTTPS: closed without an answer, never a redirect to that name.
    other = http.client.HTTPConnection("127.0.0.1", site.ports["http"], timeout=10)
    other.request("GET", "/", headers={"Host": "evil.example"})
    with pytest.raises((http.client.RemoteDisconnected, ConnectionResetError)):
        other.getresponse()
    raw = socket.create_connection(("127.0.0.1", site.ports["https"]), timeout=10)
    with pytest.raises(ssl.SSLError):
        ssl._create_unverified_context().wrap_socket(raw, server_hostname="evil.example")
    # The site's name in TLS, another in Host: closed too (nginx's default page would log the path in full).
    with pytest.raises((http.client.RemoteDisconnected, ConnectionResetError, ssl.SSLError)):
        site.https("GET", "/applications/AbCdEfGhIjKlMnOpQrStUv:Qm3Pz8Wc1Kx5Nv7Rb2Ty4Lh6Js9D/", headers={"Host": "evil.example"})
    status, headers, body = site.https("GET", "/")
    assert status == 200
    assert "nginx" not in headers.get("Server", "nginx/").split("/")[1:]  # no version
    assert headers["Strict-Transport-Security"] == "max-age=31536000; includeSubDomains; preload"
    assert b"UPR Info" in body
    # Static files come from nginx, cached for a year.
    css = re.search(rb'href="(/static/[^"]+\.css)"', body).group(1).decode()
    status, headers, _body = site.https("GET", css)
    assert status == 200 and headers.get_all("Cache-Control") == ["public, max-age=31536000, immutable"]


def test_a_304_through_the_proxy(site):
    status, headers, _body = site.https("GET", "/about/", headers={"Accept-Encoding": "gzip"})
    assert status == 200 and headers["ETag"]
    status, _headers, body = site.https("GET", "/about/", headers={"Accept-Encoding": "gzip", "If-None-Match": headers["ETag"]})
    assert status == 304 and body == b""


def _pdf(size: int) -> bytes:
    from pypdf import PdfWriter

    writer = PdfWriter()
    writer.add_blank_page(200, 200)
    writer.add_attachment("padding.bin", os.urandom(size))
    buffer = io.BytesIO()
    writer.write(buffer)
    return buffer.getvalue()


def _multipart(fields: dict, files: dict) -> tuple[bytes, str]:
    boundary = uuid.uuid4().hex
    parts = []
    for name, value in fields.items():
        for item in value if isinstance(value, list) else [value]:
            parts.append(f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{item}\r\n'.encode())
    for name, (filename, content) in files.items():
        parts.append(
            f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"; filename="{filename}"\r\n'
            f"Content-Type: application/pdf\r\n\r\n".encode()
            + content
            + b"\r\n"
        )
    parts.append(f"--{boundary}--\r\n".encode())
    return b"".join(parts), f"multipart/form-data; boundary={boundary}"


def _cookies(headers) -> dict[str, str]:
    return {value.split("=", 1)[0]: value for value in headers.get_all("Set-Cookie") or []}


def test_an_application_with_an_upload_near_the_limit(site):
    from tests.faults.stack import application_data

    form = site.stack.form_data()
    path = f"/sessions/{form['number']}/apply/"
    source = "127.0.0.77"
    status, headers, body = site.https("GET", path, source=source)
    assert status == 200
    cookies = _cookies(headers)
    assert "Secure" in cookies["csrftoken"] and "HttpOnly" not in cookies["csrftoken"]
    tokens = {
        name: re.search(rf'name="{name}" value="([^"]+)"'.encode(), body).group(1).decode()
        for name in ("csrfmiddlewaretoken", "app-form_token")
    }
    email = f"smoke-{secrets.token_hex(3)}@example.org"
    fields = application_data(form, email, tokens)
    report = _pdf(site_limit() - 600_000)
    assert site_limit() - 700_000 < len(report) < site_limit()
    data, content_type = _multipart(fields, {"app-report_file": ("report.pdf", report)})
    headers = {
        "Content-Type": content_type,
        "Cookie": "csrftoken=" + cookies["csrftoken"].split(";")[0].split("=", 1)[1],
        "Origin": f"https://{DOMAIN}:{site.ports['https']}",
        "Referer": f"https://{DOMAIN}:{site.ports['https']}{path}",
    }
    status, response_headers, body = site.https("POST", path, body=data, headers=headers, source=source)
    assert status == 302, body[:2000]
    stored = site.stack.query(
        "SELECT report_file FROM applications_application a JOIN applications_organisation o ON o.id = a.organisation_id "
        "WHERE o.email = %s",
        (email,),
    )
    assert stored and stored[0][0], "the report was not stored"
    on_disk = site.folder / "var" / "private" / stored[0][0]
    assert on_disk.read_bytes() == report
    # gunicorn's access log names the applicant's address, seen through nginx.
    wait_for(lambda: source in (site.stack.logs / "web.log").read_text(), 10, "the access log line")
    # The confirmation goes out through Redis, the worker and the mail server.
    wait_for(lambda: any(email in message["to"] for message in site.stack.messages()), 60, "the confirmation email")
    # Over the limit: the site's own page, from nginx's 413.
    too_big, content_type = _multipart(fields, {"app-report_file": ("report.pdf", b"%PDF-1.4\n" + b"0" * (13 * 1024 * 1024))})
    status, _headers, body = site.https("POST", path, body=too_big, headers={**headers, "Content-Type": content_type})
    assert status == 413
    assert b"<html" in body.lower() and b"nginx" not in body.lower()
    # The same over HTTP/2, as browsers send it, to a private link: the site's page, in Spanish, and
    # the link in full in no log of nginx's (its error log cannot mask).
    private = "/applications/AbCdEfGhIjKlMnOpQrStUv:Qm3Pz8Wc1Kx5Nv7Rb2Ty4Lh6Js9D/edit/"
    upload = site.folder / "too-big.pdf"
    upload.write_bytes(b"%PDF-1.4\n" + b"0" * (13 * 1024 * 1024))
    curl = subprocess.run(
        ["curl", "-s", "--http2", "--cacert", str(site.cert), "--resolve", f"{DOMAIN}:{site.ports['https']}:127.0.0.1"]
        + [
            "-H",
            "Cookie: django_language=es",
            "-F",
            f"app-report_file=@{upload}",
            "-o",
            "-",
            "-w",
            "\n%{http_code} %{http_version}",
        ]
        + [f"https://{DOMAIN}:{site.ports['https']}{private}"],
        capture_output=True,
        timeout=60,
    )
    page, _, outcome = curl.stdout.rpartition(b"\n")
    assert outcome == b"413 2", curl.stderr
    assert b"El archivo" in page or b"grande" in page, page[:300]
    assert b"nginx" not in page.lower()
    for log in site.stack.logs.glob("*.log"):
        assert "Qm3Pz8Wc1Kx5Nv7Rb2Ty4Lh6Js9D" not in log.read_text(errors="replace"), log.name


def site_limit() -> int:
    from django.conf import settings

    return settings.APPLICATION_UPLOAD_MAX_BYTES


def test_a_browser_over_https(site):
    from playwright.sync_api import sync_playwright

    if not Path(CHROMIUM).exists():
        service_unavailable("Chromium is not installed (Debian's chromium package)")
    form = site.stack.form_data()
    base = f"https://{DOMAIN}:{site.ports['https']}"
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        try:
            context = browser.new_context(ignore_https_errors=True)
            page = context.new_page()
            page.goto(base + f"/sessions/{form['number']}/apply/")
            page.locator("form.language-switcher button[value=es]").click()
            page.wait_for_load_state()
            assert page.locator("html").get_attribute("lang") == "es"
            assert page.url == base + f"/sessions/{form['number']}/apply/"
            # An empty submission: the form comes back with its error summary (CSRF passed over HTTPS).
            page.locator("button[name=action][value=submit]").click()
            page.wait_for_load_state()
            assert page.locator("[data-error-summary]").is_visible()
            assert "Hay un problema" in page.locator("[data-error-summary]").inner_text()
            cookies = {cookie["name"]: cookie for cookie in context.cookies(base)}
            assert cookies["csrftoken"]["secure"] is True
            assert cookies["django_language"]["secure"] is True
        finally:
            browser.close()


def test_readiness_follows_the_worker(site):
    wait_for(lambda: site.ready()[0] == 200, 90, "readiness")
    status, report = site.ready()
    assert set(report["checks"]) == {"database", "cache", "broker", "worker", "beat"}
    site.stack.kill("worker")
    stopped = time.monotonic()
    while site.ready()[0] == 200:
        assert time.monotonic() - stopped < 60, "readiness still healthy a minute after the worker stopped"
        time.sleep(2)
    status, report = site.ready()
    assert status == 503
    assert report["checks"]["worker"]["ok"] is False
    # The load balancer's check stays healthy: the web servers still serve.
    assert site.https("GET", "/readyz/web")[0] == 200
    assert report["checks"]["beat"]["ok"] is True and report["checks"]["database"]["ok"] is True
    unhealthy_after = time.monotonic() - stopped
    site.start("worker")
    restarted = time.monotonic()
    while site.ready()[0] != 200:
        assert time.monotonic() - restarted < 60, "readiness not healthy a minute after the worker restarted"
        time.sleep(2)
    REPORT.append(
        f"readiness: unhealthy {unhealthy_after:.0f} s after the worker stopped, "
        f"healthy {time.monotonic() - restarted:.0f} s after it started again"
    )


def test_a_restart_shows_a_page_in_three_languages(site):
    """While gunicorn is away (an upgrade's restart), nginx answers with the site's own page, not its bare 502."""
    site.stack.kill("web")
    try:
        status, headers, body = site.https("GET", "/calendar/")
        assert status == 502
        text = body.decode()
        assert "Back in a minute" in text and "De retour dans une minute" in text and "Volvemos en un minuto" in text
    finally:
        site.start("web")
        wait_for(lambda: _port_open(site.ports["web"]), 60, "gunicorn")
    assert site.https("GET", "/calendar/")[0] == 200
