"""
The whole product, running for real: gunicorn on loopback against PostgreSQL, a Celery worker
on Redis, an SMTP sink (aiosmtpd), and headless Chromium (Debian's package) driven by
Playwright. Without those services the tests skip; under REQUIRE_SERVICES=1 (CI) they fail.
"""

import os
import re
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from urllib.parse import urlparse, urlunparse

import pytest
from aiosmtpd.controller import Controller

from tests.conftest import port_open, service_unavailable

ROOT = Path(__file__).resolve().parents[2]
SCREENSHOTS = ROOT / "var" / "screenshots"
CHROMIUM = "/usr/bin/chromium"
E2E_DATABASE = "presessions_e2e"


JOURNAL: list[str] = []  # printed at the end of the run, so CI's log lists every step


def note(line: str) -> None:
    JOURNAL.append(line)
    print(line)


def pytest_terminal_summary(terminalreporter):
    if JOURNAL:
        terminalreporter.section("browser journey")
        for line in JOURNAL:
            terminalreporter.write_line(line)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Sink:
    def __init__(self):
        self.messages = []

    async def handle_DATA(self, server, session, envelope):
        self.messages.append(envelope.content.decode("utf-8", "replace"))
        return "250 Message accepted"

    def find(self, pattern: str, after: int = 0, timeout: float = 30.0) -> str:
        """Wait for a message matching `pattern` (a worker sends it asynchronously) and return it."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for message in self.messages[after:]:
                if re.search(pattern, message):
                    return message
            time.sleep(0.2)
        raise AssertionError(f"no email matching {pattern!r} arrived")


@pytest.fixture(scope="session")
def stack():
    """Start PostgreSQL-backed gunicorn, a Celery worker and an SMTP sink; yield what the tests need."""
    if not Path(CHROMIUM).exists():
        service_unavailable("Chromium is not installed at /usr/bin/chromium")
    database_url = os.environ.get("DATABASE_URL", "")
    redis_url = os.environ.get("REDIS_URL", "")
    if not database_url.startswith(("postgres", "postgresql")):
        service_unavailable("the browser journey needs PostgreSQL (DATABASE_URL)")
    if not redis_url or not port_open(redis_url):
        service_unavailable("the browser journey needs Redis (REDIS_URL)")
    try:
        from playwright.sync_api import sync_playwright  # noqa: F401
    except ImportError:
        service_unavailable("Playwright is not installed")

    import psycopg

    parsed = urlparse(database_url)
    admin_url = urlunparse(parsed._replace(path="/postgres"))
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {E2E_DATABASE}")
        conn.execute(f"CREATE DATABASE {E2E_DATABASE}")
    sink = Sink()
    smtp = Controller(sink, hostname="127.0.0.1", port=free_port())
    smtp.start()
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    env = {
        **os.environ,
        "DATABASE_URL": urlunparse(parsed._replace(path=f"/{E2E_DATABASE}")),
        "REDIS_URL": redis_url,
        "EMAIL_URL": f"smtp://127.0.0.1:{smtp.port}",
        "SITE_URL": base,
        "DEBUG": "0",
        "SECRET_KEY": "e2e-" + "k7" * 30,
        "ALLOWED_HOSTS": "127.0.0.1",
        "SECURE_SSL_REDIRECT": "0",
        "APPLICATION_RATELIMIT": "1000/m",
        "LOG_LEVEL": "WARNING",
    }

    def manage(*args) -> str:
        return subprocess.run(
            [sys.executable, "manage.py", *args], cwd=ROOT, env=env, check=True, capture_output=True, text=True
        ).stdout

    manage("migrate", "--noinput")
    manage("collectstatic", "--noinput")
    manage("compiletranslations")
    demo = manage("load_demo", "--even-with-debug-off")
    passwords = dict(re.findall(r"username: (\w+)\s+password: (\S+)", demo))
    logs = ROOT / "var"
    logs.mkdir(exist_ok=True)
    worker = subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "config", "worker", "-P", "solo", "--loglevel=WARNING"],
        cwd=ROOT,
        env=env,
        stdout=open(logs / "e2e-worker.log", "w"),
        stderr=subprocess.STDOUT,
    )
    web = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "gunicorn",
            "config.wsgi",
            "-c",
            "gunicorn.conf.py",
            "--workers",
            "2",
            "--bind",
            f"127.0.0.1:{port}",
        ],
        cwd=ROOT,
        env=env,
        stdout=open(logs / "e2e-web.log", "w"),
        stderr=subprocess.STDOUT,
    )
    try:
        for _ in range(150):
            try:
                urllib.request.urlopen(base + "/healthz", timeout=1)
                break
            except OSError:
                time.sleep(0.2)
        else:
            pytest.fail("gunicorn did not start; see var/e2e-web.log")
        shutil.rmtree(SCREENSHOTS, ignore_errors=True)
        SCREENSHOTS.mkdir(parents=True)
        yield {"base": base, "sink": sink, "passwords": passwords, "manage": manage}
    finally:
        web.terminate()
        worker.terminate()
        web.wait(10)
        worker.wait(10)
        smtp.stop()


@pytest.fixture(scope="session")
def browser(stack):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM,
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
            ],
        )
        yield browser
        browser.close()


class Steps:
    """Numbered screenshots of every step; the failing page is kept too."""

    def __init__(self, page, prefix: str):
        self.page, self.prefix, self.count = page, prefix, 0

    def shot(self, name: str) -> None:
        self.count += 1
        path = SCREENSHOTS / f"{self.prefix}-{self.count:02d}-{name}.png"
        self.page.screenshot(path=str(path), full_page=True)
        note(f"step {self.prefix}-{self.count:02d}: {name} -> {path.relative_to(ROOT)}")


@pytest.fixture
def page_factory(browser, request):
    pages = []

    def make(prefix: str, **context_options):
        context = browser.new_context(viewport={"width": 1200, "height": 900}, **context_options)
        page = context.new_page()
        page.set_default_timeout(20000)
        pages.append((context, page, prefix))
        return page, Steps(page, prefix)

    yield make
    failed = getattr(request.node, "rep_call", None) is not None and request.node.rep_call.failed
    for context, page, prefix in pages:
        if failed:
            try:
                page.screenshot(path=str(SCREENSHOTS / f"{prefix}-FAILED.png"), full_page=True)
                print(f"failing page kept as var/screenshots/{prefix}-FAILED.png")
            except Exception:  # noqa: BLE001 -- the browser may be gone already
                pass
        context.close()


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    setattr(item, f"rep_{report.when}", report)
