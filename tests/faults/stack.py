"""
The whole product on loopback, with every part its own process that a test can stop, kill and
start again: a PostgreSQL cluster of its own, Redis (with the README's memory policy), an SMTP
sink, gunicorn (2 workers, DEBUG off) behind nginx, a Celery worker and beat.
"""

from __future__ import annotations

import http.client
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.parse
from dataclasses import dataclass, field
from pathlib import Path

from bench.services import REDIS_POLICY, free_port

ROOT = Path(__file__).resolve().parents[2]


def missing_binaries() -> list[str]:
    found = {
        "PostgreSQL (initdb)": bool(_pg_bin()),
        "redis-server": bool(shutil.which("redis-server")),
        "nginx": bool(shutil.which("nginx") or Path("/usr/sbin/nginx").exists()),
    }
    return [name for name, ok in found.items() if not ok]


def _pg_bin() -> str | None:
    candidates = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb")) if Path("/usr/lib/postgresql").exists() else []
    if candidates:
        return str(candidates[-1].parent)
    initdb = shutil.which("initdb")
    return str(Path(initdb).parent) if initdb else None


def _as_postgres(args: list[str]) -> list[str]:
    """PostgreSQL refuses to run as root: run its commands as the postgres user when we are root."""
    return ["runuser", "-u", "postgres", "--", *args] if os.geteuid() == 0 else args


NGINX = shutil.which("nginx") or "/usr/sbin/nginx"


def deploy_nginx_files(folder: Path, values: dict) -> dict[str, str]:
    """deploy/nginx/'s files with their placeholders filled in, as envsubst would (deploy/README.md)."""
    filled = {}
    for source in sorted((ROOT / "deploy" / "nginx").glob("*.conf")):
        text = source.read_text()
        for name, value in values.items():
            text = text.replace("${" + name + "}", value)
        filled[source.name] = text
    snippets = folder / "snippets"
    snippets.mkdir(exist_ok=True)
    (snippets / "presessions-proxy.conf").write_text(filled["presessions-proxy.conf"])
    return filled


def nginx_main_conf(folder: Path, server_blocks: str, http_extra: str = "", user: str = "root") -> Path:
    """A whole nginx.conf for nginx run in the foreground on loopback, with deploy/nginx/'s http part."""
    temp = folder / "nginx-temp"
    temp.mkdir(exist_ok=True)
    temp.chmod(0o777)
    conf = folder / "nginx.conf"
    conf.write_text(
        f"daemon off;\npid {folder / 'nginx.pid'};\nerror_log {folder / 'nginx-error.log'} warn;\n"
        + (f"user {user};\n" if os.geteuid() == 0 else "")
        + "worker_processes 1;\nevents { worker_connections 512; }\nhttp {\n  include /etc/nginx/mime.types;\n"
        + "".join(f"  {kind}_temp_path {temp}/{kind};\n" for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi"))
        + (ROOT / "deploy" / "nginx" / "presessions-http.conf").read_text()
        + http_extra
        + server_blocks
        + "\n}\n"
    )
    return conf


def write_nginx_conf(folder: Path, listen: int, upstream: int, access_log: Path) -> Path:
    """Plain HTTP on loopback, in front of gunicorn, with deploy/nginx/presessions-proxy.conf inside."""
    deploy_nginx_files(folder, {"UPSTREAM": f"127.0.0.1:{upstream}", "STATIC_ROOT": str(ROOT / "static")})
    server = (
        f"server {{\n  listen 127.0.0.1:{listen};\n  access_log {access_log} presessions;\n"
        f"  include {folder / 'snippets' / 'presessions-proxy.conf'};\n}}\n"
    )
    return nginx_main_conf(folder, server)


def wait_for(check, timeout: float, what: str):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if check():
                return
        except Exception:  # noqa: BLE001, S110 -- not ready yet
            pass
        time.sleep(0.2)
    raise RuntimeError(f"{what} did not start within {timeout} s")


class Client:
    """A browser stand-in on one source address: cookies, CSRF token, and plain HTTP/1.1 over loopback."""

    def __init__(self, port: int, source: str = "127.0.0.1", timeout: float = 30):
        self.port, self.source, self.timeout, self.cookies = port, source, timeout, {}

    def request(self, method: str, path: str, data: dict | list | None = None) -> tuple[int, dict, str]:
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=self.timeout, source_address=(self.source, 0))
        headers = {"Host": "127.0.0.1", "User-Agent": "fault-suite"}
        if self.cookies:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        body = None
        if data is not None:
            body = urllib.parse.urlencode(data, doseq=True)
            headers["Content-Type"] = "application/x-www-form-urlencoded"
            headers["Referer"] = f"http://127.0.0.1:{self.port}{path}"
        try:
            connection.request(method, path, body=body, headers=headers)
            response = connection.getresponse()
            text = response.read().decode("utf-8", "replace")
            for name, value in response.getheaders():
                if name.lower() == "set-cookie":
                    key, _, rest = value.partition("=")
                    self.cookies[key.strip()] = rest.split(";", 1)[0]
            return response.status, {k.lower(): v for k, v in response.getheaders()}, text
        finally:
            connection.close()

    def form_tokens(self, path: str) -> tuple[int, dict]:
        status, _headers, text = self.request("GET", path)
        if status != 200:
            return status, {}
        tokens = {}
        for name in ("csrfmiddlewaretoken", "app-form_token"):
            found = re.search(rf'name="{name}" value="([^"]+)"', text)
            if found:
                tokens[name] = found.group(1)
        return status, tokens


@dataclass
class Stack:
    folder: Path
    ports: dict = field(default_factory=dict)
    processes: dict = field(default_factory=dict)
    env: dict = field(default_factory=dict)
    logs: Path = None

    # ---------------------------------------------------------------- start

    @classmethod
    def start(cls) -> Stack:
        folder = Path(tempfile.mkdtemp(prefix="presessions-faults-"))
        folder.chmod(0o777)
        stack = cls(folder=folder)
        stack.logs = folder / "logs"
        stack.logs.mkdir()
        stack.logs.chmod(0o777)
        for name in ("postgres", "redis", "smtp", "web", "nginx"):
            stack.ports[name] = free_port()
        stack.start_postgres(init=True)
        stack.start_redis()
        stack.start_sink()
        stack.env = {
            **{k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL")},
            "DATABASE_URL": f"postgres://postgres@127.0.0.1:{stack.ports['postgres']}/presessions",
            "REDIS_URL": f"redis://127.0.0.1:{stack.ports['redis']}/0",
            "EMAIL_URL": f"smtp://127.0.0.1:{stack.ports['smtp']}",
            "EMAIL_TIMEOUT": "5",
            "SITE_URL": f"http://127.0.0.1:{stack.ports['nginx']}",
            "DEBUG": "0",
            "SECRET_KEY": "faults-" + "z3" * 30,
            "ALLOWED_HOSTS": "127.0.0.1,localhost",
            "SECURE_SSL_REDIRECT": "0",
            "COOKIES_SECURE": "0",
            "STATICFILES_BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage",
            "TRUSTED_PROXIES": "127.0.0.1",
            "LOG_LEVEL": "WARNING",
            "OUTBOX_LEASE_SECONDS": "12",
            "OUTBOX_RETRY_SECONDS": "2,4,8,16,32",
            "DATABASE_RETRY_SECONDS": "10",
            "APPLICATION_RATELIMIT": "20/m",
            "CONN_MAX_AGE": "60",
        }
        stack.manage("migrate", "--noinput")
        stack.manage("load_demo", "--even-with-debug-off")
        # The sweep every 2 seconds instead of every minute, so that the suite takes minutes, not hours.
        stack.manage(
            "shell",
            "-c",
            "from django_celery_beat.models import IntervalSchedule, PeriodicTask; "
            "schedule, _ = IntervalSchedule.objects.get_or_create(every=2, period='seconds'); "
            "PeriodicTask.objects.filter(task='presessions.sweep_outbox').update(interval=schedule)",
        )
        stack.start_web()
        stack.start_nginx()
        stack.start_worker()
        stack.start_beat()
        return stack

    def manage(self, *args) -> str:
        result = subprocess.run(
            [sys.executable, "manage.py", *args], cwd=ROOT, env=self.env, capture_output=True, text=True, timeout=300
        )
        if result.returncode != 0:
            raise RuntimeError(f"manage.py {' '.join(args)} failed:\n{result.stdout}\n{result.stderr}")
        return result.stdout

    def _spawn(self, name: str, args: list[str], **kwargs) -> subprocess.Popen:
        log = open(self.logs / f"{name}.log", "a")
        process = subprocess.Popen(args, stdout=log, stderr=subprocess.STDOUT, **kwargs)
        self.processes[name] = process
        return process

    def start_postgres(self, init: bool = False):
        pg = _pg_bin()
        data = self.folder / "pg"
        if init:
            data.mkdir()
            if os.geteuid() == 0:
                shutil.chown(data, "postgres")
            subprocess.run(
                _as_postgres([f"{pg}/initdb", "-D", str(data), "-A", "trust", "-U", "postgres", "-E", "UTF8"]),
                check=True,
                capture_output=True,
            )
        options = f"-c listen_addresses=127.0.0.1 -p {self.ports['postgres']} -k {data} -c fsync=off"
        subprocess.run(
            _as_postgres([f"{pg}/pg_ctl", "-D", str(data), "-l", str(self.logs / "postgres.log"), "-w", "-o", options, "start"]),
            check=True,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        if init:
            subprocess.run(
                [f"{pg}/createdb", "-h", "127.0.0.1", "-p", str(self.ports["postgres"]), "-U", "postgres", "presessions"],
                check=True,
            )

    def restart_postgres(self):
        pg = _pg_bin()
        options = f"-c listen_addresses=127.0.0.1 -p {self.ports['postgres']} -k {self.folder / 'pg'} -c fsync=off"
        # The server's output goes to its log, never to a pipe of ours (the server outlives pg_ctl).
        command = [f"{pg}/pg_ctl", "-D", str(self.folder / "pg"), "-l", str(self.logs / "postgres.log"), "-m", "fast", "-w"]
        subprocess.run(
            _as_postgres([*command, "-o", options, "restart"]), check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )

    def stop_postgres(self):
        subprocess.run(
            _as_postgres([f"{_pg_bin()}/pg_ctl", "-D", str(self.folder / "pg"), "-m", "fast", "-w", "stop"]),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )

    def start_redis(self):
        args = ["redis-server", "--bind", "127.0.0.1", "--port", str(self.ports["redis"]), "--save", "", "--appendonly", "no"]
        self._spawn("redis", [*args, *REDIS_POLICY])
        wait_for(
            lambda: (
                subprocess.run(["redis-cli", "-p", str(self.ports["redis"]), "ping"], capture_output=True).stdout.strip()
                == b"PONG"
            ),
            10,
            "Redis",
        )

    def start_sink(self, delay: float = 0.0):
        args = [
            sys.executable,
            "-m",
            "tests.faults.sink",
            "--port",
            str(self.ports["smtp"]),
            "--log",
            str(self.folder / "mail.jsonl"),
        ]
        self._spawn("smtp", [*args, "--delay", str(delay)], cwd=ROOT)
        wait_for(lambda: _port_open(self.ports["smtp"]), 10, "the SMTP sink")

    def start_web(self):
        args = [sys.executable, "-m", "gunicorn", "config.wsgi", "-c", "gunicorn.conf.py", "--workers", "2"]
        self._spawn("web", [*args, "--bind", f"127.0.0.1:{self.ports['web']}"], cwd=ROOT, env=self.env)
        wait_for(lambda: _port_open(self.ports["web"]), 30, "gunicorn")

    def start_nginx(self):
        conf = write_nginx_conf(self.folder, self.ports["nginx"], self.ports["web"], self.logs / "nginx-access.log")
        self._spawn("nginx", [NGINX, "-c", str(conf), "-p", str(self.folder)])
        wait_for(lambda: _port_open(self.ports["nginx"]), 10, "nginx")

    def start_worker(self):
        args = [sys.executable, "-m", "celery", "-A", "config", "worker", "-P", "solo", "--loglevel=WARNING"]
        self._spawn("worker", args, cwd=ROOT, env=self.env)

    def start_beat(self):
        args = [sys.executable, "-m", "celery", "-A", "config", "beat", "--loglevel=WARNING"]
        self._spawn("beat", [*args, "-s", str(self.folder / "beat-schedule")], cwd=ROOT, env=self.env)

    def kill(self, name: str, sig=signal.SIGTERM):
        process = self.processes.get(name)
        if process is not None and process.poll() is None:
            process.send_signal(sig)
            try:
                process.wait(10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(5)

    def stop(self):
        for name in ("beat", "worker", "nginx", "web", "smtp", "redis"):
            self.kill(name)
        self.stop_postgres()

    # ---------------------------------------------------------------- reading what happened

    def query(self, sql: str, params=()) -> list[tuple]:
        import psycopg

        with psycopg.connect(self.env["DATABASE_URL"], connect_timeout=5) as connection:
            return connection.execute(sql, params).fetchall()

    def messages(self) -> list[dict]:
        path = self.folder / "mail.jsonl"
        if not path.exists():
            return []
        return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]

    def form_data(self) -> dict:
        """What an applicant needs to fill the form: the demo session, a State and two themes."""
        output = self.manage(
            "shell",
            "-c",
            "import json; from presessions.models import Call, Theme; call = Call.objects.order_by('-opens_at').first(); "
            "review = call.session.reviews.taking_place().filter(meeting_not_held=False).order_by('order').first(); "
            "print(json.dumps({'number': call.session.number, 'review': review.pk, 'country': review.country.code, "
            "'themes': list(Theme.objects.filter(active=True).order_by('pk').values_list('pk', flat=True)[:2])}))",
        )
        return json.loads(output.strip().splitlines()[-1])


def _port_open(port: int) -> bool:
    import socket

    with socket.socket() as sock:
        sock.settimeout(0.5)
        return sock.connect_ex(("127.0.0.1", port)) == 0


def application_data(form: dict, email: str, tokens: dict) -> dict:
    """A complete application, as the form posts it."""
    return {
        **tokens,
        "action": "submit",
        "app-review": form["review"],
        "org-name": f"Fault Suite Forum {email.split('@')[0]}",
        "org-kind": "cso",
        "org-cso_form": "ngo",
        "org-country": form["country"],
        "org-scope": "national",
        "org-email": email,
        "app-report_submitted": "alone",
        "app-report_reference": "Stakeholder submission",
        "app-themes": form["themes"],
        "app-statement_summary": "Freedom of assembly and detention conditions.",
        "app-speaker_name": "Afi Mensah",
        "app-speaker_gender": "woman",
        "app-speaker_role": "President",
        "app-speaker_email": email,
        "app-working_language": "en",
        "app-attendance": "in_person",
        "app-consent_data": "on",
        "app-publication": "organisation",
    }
