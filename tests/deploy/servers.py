"""
A scaled-out site on loopback: two web servers (gunicorn, DEBUG off), each with a var/ folder of its
own, sharing one PostgreSQL cluster, one Redis and one S3-compatible object storage (moto's
standalone server). PostgreSQL and Redis are started as the fault suite starts them
(tests/faults/stack.py); no nginx, no Celery worker (nothing here waits for an email).

Also a browser stand-in that uploads files (multipart/form-data), reads binary responses, fills in
a page's form as it stands, and signs staff in with the real two-step login.
"""

from __future__ import annotations

import http.client
import os
import re
import shutil
import subprocess
import sys
import tempfile
import urllib.parse
import uuid
from binascii import unhexlify
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path

from bench.services import free_port
from tests.deploy import s3 as s3server
from tests.faults.stack import ROOT, Client, Stack, _pg_bin, _port_open, wait_for

SERVERS = ("a", "b")


def missing_services() -> list[str]:
    found = {
        "PostgreSQL (initdb)": bool(_pg_bin()),
        "redis-server": bool(shutil.which("redis-server")),
        "moto (an S3-compatible server)": s3server.moto_available(),
    }
    return [name for name, ok in found.items() if not ok]


# ------------------------------------------------------------------------ the browser


def multipart(fields: dict, files: dict[str, tuple[str, bytes, str]]) -> tuple[bytes, str]:
    """A multipart/form-data body: `fields` as a form posts them (a list is several values), `files` as (name, bytes, type)."""
    boundary = f"----presessions-{uuid.uuid4().hex}"
    parts = []
    for name, value in fields.items():
        for item in value if isinstance(value, list | tuple) else [value]:
            parts.append(f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{item}\r\n'.encode())
    for name, (filename, content, content_type) in files.items():
        head = f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"; filename="{filename}"\r\n'
        parts.append(f"{head}Content-Type: {content_type}\r\n\r\n".encode() + content + b"\r\n")
    parts.append(f"--{boundary}--\r\n".encode())
    return b"".join(parts), f"multipart/form-data; boundary={boundary}"


class Browser(Client):
    """tests.faults.stack.Client (cookies, one source address), which also uploads files and gives the body as bytes."""

    def send(self, method: str, path: str, data: dict | None = None, files: dict | None = None) -> tuple[int, dict, bytes]:
        headers = {"Host": "127.0.0.1", "User-Agent": "deploy-suite"}
        if self.cookies:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        body = None
        if files:
            body, headers["Content-Type"] = multipart(data or {}, files)
        elif data is not None:
            body = urllib.parse.urlencode(data, doseq=True)
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        if body is not None:
            headers["Referer"] = f"http://127.0.0.1:{self.port}{path}"
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=self.timeout, source_address=(self.source, 0))
        try:
            connection.request(method, path, body=body, headers=headers)
            response = connection.getresponse()
            content = response.read()
            for name, value in response.getheaders():
                if name.lower() == "set-cookie":
                    key, _, rest = value.partition("=")
                    self.cookies[key.strip()] = rest.split(";", 1)[0]
            return response.status, {k.lower(): v for k, v in response.getheaders()}, content
        finally:
            connection.close()

    def request(self, method: str, path: str, data: dict | list | None = None) -> tuple[int, dict, str]:
        status, headers, content = self.send(method, path, data)
        return status, headers, content.decode("utf-8", "replace")

    def csrf_token(self, path: str) -> str:
        status, _headers, text = self.request("GET", path)
        assert status == 200, (path, status)
        return re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', text).group(1)


class _FormParser(HTMLParser):
    """The fields of one form of a page, as a browser would submit it untouched."""

    def __init__(self, form_id: str):
        super().__init__(convert_charrefs=True)
        self.form_id, self.inside, self.fields = form_id, False, []
        self.select = self.textarea = None
        self.options: list[tuple[str, bool]] = []

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "form" and attrs.get("id") == self.form_id:
            self.inside = True
        if not self.inside:
            return
        name = attrs.get("name")
        if tag == "input" and name and "disabled" not in attrs:
            kind = attrs.get("type", "text")
            if kind in ("submit", "button", "file", "image", "reset"):
                return
            if kind in ("checkbox", "radio") and "checked" not in attrs:
                return
            self.fields.append((name, attrs.get("value", "on" if kind in ("checkbox", "radio") else "")))
        elif tag == "select" and name:
            self.select, self.options = (name, "multiple" in attrs), []
        elif tag == "option" and self.select:
            self.options.append((attrs.get("value", ""), "selected" in attrs))
        elif tag == "textarea" and name:
            self.textarea = [name, ""]

    def handle_data(self, data):
        if self.textarea is not None:
            self.textarea[1] += data

    def handle_endtag(self, tag):
        if not self.inside:
            return
        if tag == "form":
            self.inside = False
        elif tag == "select" and self.select:
            name, multiple = self.select
            chosen = [value for value, selected in self.options if selected]
            if not chosen and not multiple and self.options:
                chosen = [self.options[0][0]]
            self.fields += [(name, value) for value in chosen]
            self.select = None
        elif tag == "textarea" and self.textarea is not None:
            self.fields.append((self.textarea[0], self.textarea[1].removeprefix("\n")))
            self.textarea = None


def form_fields(page: str, form_id: str) -> dict:
    """The form `form_id` of `page` as it would be posted unchanged: name to value (a list for several values)."""
    parser = _FormParser(form_id)
    parser.feed(page)
    assert parser.fields, f"no form {form_id!r} on the page"
    data: dict = {}
    for name, value in parser.fields:
        if name in data:
            data[name] = [*(data[name] if isinstance(data[name], list) else [data[name]]), value]
        else:
            data[name] = value
    return data


def totp_code(key_hex: str) -> str:
    """The code an authenticator with this secret (a TOTPDevice's key) shows now."""
    from django_otp.oath import totp

    return str(totp(unhexlify(key_hex), step=30, t0=0, digits=6)).zfill(6)


def sign_in(browser: Browser, username: str, password: str, key_hex: str) -> None:
    """The real two-step staff login: password, then the authenticator's code."""
    token = browser.csrf_token("/account/login/")
    status, _headers, page = browser.request(
        "POST",
        "/account/login/",
        {
            "csrfmiddlewaretoken": token,
            "login_view-current_step": "auth",
            "auth-username": username,
            "auth-password": password,
        },
    )
    assert status == 200 and 'name="token-otp_token"' in page, f"the password step failed ({status})"
    status, headers, _page = browser.request(
        "POST",
        "/account/login/",
        {"csrfmiddlewaretoken": token, "login_view-current_step": "token", "token-otp_token": totp_code(key_hex)},
    )
    assert status == 302, f"the code step failed ({status})"


# ------------------------------------------------------------------------ the servers


@dataclass
class TwoServers:
    """One PostgreSQL, one Redis, one S3 server; two gunicorns with their own VAR_DIR. `stack` runs the first two."""

    stack: Stack
    ports: dict = field(default_factory=dict)
    var: dict = field(default_factory=dict)
    processes: dict = field(default_factory=dict)

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.ports['s3']}"

    @classmethod
    def start(cls) -> TwoServers:
        folder = Path(tempfile.mkdtemp(prefix="presessions-two-servers-"))
        folder.chmod(0o777)
        stack = Stack(folder=folder, logs=folder / "logs")
        stack.logs.mkdir()
        stack.logs.chmod(0o777)
        site = cls(stack=stack)
        try:
            site._start()
        except BaseException:
            site.stop()
            for log in sorted(stack.logs.glob("*.log")):  # shown by pytest with the failure
                print(f"--- {log.name}\n{log.read_text(errors='replace')[-3000:]}", file=sys.stderr)
            shutil.rmtree(folder, ignore_errors=True)
            raise
        return site

    def _start(self):
        stack = self.stack
        for name in ("postgres", "redis"):
            stack.ports[name] = free_port()
        self.ports = {"s3": free_port(), **{name: free_port() for name in SERVERS}}
        stack.start_postgres(init=True)
        stack.start_redis()
        self._spawn("s3", s3server.command(self.ports["s3"]), cwd=stack.folder)
        wait_for(lambda: _port_open(self.ports["s3"]), 30, "the S3 server")
        s3server.client(self.endpoint).create_bucket(Bucket=s3server.BUCKET)
        stack.env = {
            **{
                k: v
                for k, v in os.environ.items()
                if k not in ("DATABASE_URL", "REDIS_URL", "REDIS_CACHE_URL", "VAR_DIR") and not k.startswith("S3_")
            },
            **s3server.environment(self.endpoint),
            "DATABASE_URL": f"postgres://postgres@127.0.0.1:{stack.ports['postgres']}/presessions",
            "REDIS_URL": f"redis://127.0.0.1:{stack.ports['redis']}/0",
            "DEBUG": "0",
            "SECRET_KEY": "two-servers-" + "k7" * 30,
            "ALLOWED_HOSTS": "127.0.0.1,localhost",
            "SECURE_SSL_REDIRECT": "0",
            "COOKIES_SECURE": "0",
            "STATICFILES_BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage",
            "LOG_LEVEL": "WARNING",
            "VAR_DIR": str(stack.folder / "var-setup"),
        }
        stack.manage("migrate", "--noinput")
        stack.manage("load_demo", "--even-with-debug-off")
        for name in SERVERS:
            self.var[name] = stack.folder / f"var-{name}"
            self.var[name].mkdir()
            args = [sys.executable, "-m", "gunicorn", "config.wsgi", "-c", "gunicorn.conf.py", "--workers", "2"]
            env = {**stack.env, "VAR_DIR": str(self.var[name]), "SITE_URL": f"http://127.0.0.1:{self.ports[name]}"}
            self._spawn(f"web-{name}", [*args, "--bind", f"127.0.0.1:{self.ports[name]}"], cwd=ROOT, env=env)
        for name in SERVERS:
            wait_for(lambda name=name: _port_open(self.ports[name]), 30, f"gunicorn {name.upper()}")

    def _spawn(self, name: str, args: list[str], **kwargs) -> None:
        log = open(self.stack.logs / f"{name}.log", "a")
        self.processes[name] = subprocess.Popen(args, stdout=log, stderr=subprocess.STDOUT, **kwargs)

    def browser(self, server: str) -> Browser:
        return Browser(self.ports[server])

    def files_on_disk(self, server: str) -> list[Path]:
        """Every file in a server's var/ folder (uploads without object storage would land in var/private)."""
        return sorted(path for path in self.var[server].rglob("*") if path.is_file())

    def stop(self):
        for process in self.processes.values():
            if process.poll() is None:
                process.terminate()
                try:
                    process.wait(10)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait(5)
        self.stack.kill("redis")
        if (self.stack.folder / "pg").exists():
            self.stack.stop_postgres()
