"""
The fault suite: deadline-day submissions through nginx while one part of the stack fails.

For each fault, applicants (each from an address of their own) keep submitting the form while the
fault is injected and after it ends; then the suite waits for the confirmation emails and prints
one line: submissions acknowledged, stored, confirmations expected and received (distinct
Message-IDs), lost, doubled, and responses with a 5xx status. A fault passes when every
acknowledged submission is stored, no confirmation is lost or doubled, and no response was a 5xx.

It runs with `make faults` (FAULTS=1), which `.ci/run` runs, and needs PostgreSQL's binaries,
Redis and nginx (Debian's packages).
"""

from __future__ import annotations

import html
import itertools
import os
import re
import shutil
import signal
import threading
import time
from collections import defaultdict

import pytest

from outbox.models import Email
from tests.conftest import service_unavailable
from tests.faults.stack import Client, Stack, application_data, missing_binaries

EMAILS = Email._meta.db_table  # the outbox's table (it kept its name when the outbox became an app)

pytestmark = pytest.mark.skipif(os.environ.get("FAULTS") != "1", reason="the fault suite runs with `make faults`")

ROWS: list[str] = []
_addresses = (f"127.0.{a}.{b}" for a, b in itertools.product(range(1, 255), range(1, 255)))
_address_lock = threading.Lock()


def pytest_terminal_summary(terminalreporter):  # collected through tests/faults/conftest.py
    if ROWS:
        terminalreporter.section("fault suite")
        for row in ROWS:
            terminalreporter.write_line(row)


def _next_address() -> str:
    with _address_lock:
        return next(_addresses)


@pytest.fixture(scope="module")
def stack():
    missing = missing_binaries()
    if missing:
        service_unavailable(f"the fault suite needs {', '.join(missing)}")
    started = Stack.start()
    try:
        yield started
    finally:
        started.stop()
        if os.environ.get("KEEP_FAULT_LOGS") != "1":
            shutil.rmtree(started.folder, ignore_errors=True)


class Burst:
    """Applicants submitting, each from a new address, until stopped; what they got back, counted."""

    def __init__(self, stack: Stack, label: str, threads: int = 2, pause: float = 1.5):
        self.stack, self.label, self.threads, self.pause = stack, label, threads, pause
        self.form = stack.form_data()
        self.stop = threading.Event()
        self.lock = threading.Lock()
        self.counter = itertools.count(1)
        self.acknowledged, self.server_errors, self.other = [], 0, defaultdict(int)
        self.given_back = []  # (email, client, the page's hidden form): answers handed back during an outage
        self.slowest = 0.0  # seconds, the longest a submission (GET and POST) took

    def _one(self):
        email = f"{self.label}-{next(self.counter)}@faults.example.org"
        client = Client(self.stack.ports["nginx"], source=_next_address())
        path = f"/sessions/{self.form['number']}/apply/"
        started = time.monotonic()
        try:
            status, tokens = client.form_tokens(f"{path}?state={self.form['country']}")
            if status >= 500:
                with self.lock:
                    self.server_errors += 1
                return
            if status != 200:
                with self.lock:
                    self.other[f"GET {status}"] += 1
                return
            status, headers, _text = client.request("POST", path, application_data(self.form, email, tokens))
        except OSError as error:
            with self.lock:
                self.other[type(error).__name__] += 1
            return
        with self.lock:
            self.slowest = max(self.slowest, time.monotonic() - started)
            if status == 503 and "Send my answers again" in _text and email in _text:
                self.given_back.append((email, client, _resend_form(_text)))
            if status >= 500:
                self.server_errors += 1
            elif status == 302 and headers.get("location", "").endswith("/apply/sent/"):
                self.acknowledged.append(email)
            else:
                self.other[f"POST {status}"] += 1

    def _run(self):
        while not self.stop.is_set():
            self._one()
            time.sleep(self.pause)

    def __enter__(self):
        self.workers = [threading.Thread(target=self._run, daemon=True) for _ in range(self.threads)]
        for worker in self.workers:
            worker.start()
        return self

    def __exit__(self, *exc):
        self.stop.set()
        for worker in self.workers:
            worker.join(60)


def _resend_form(page: str) -> list[tuple[str, str]]:
    """The hidden fields of the answers-back page's "send again" form, as a browser would post them."""
    button = page.index("Send my answers again")
    form = page[page.rindex("<form", 0, button) : button]
    return [(html.unescape(n), html.unescape(v)) for n, v in re.findall(r'name="([^"]+)" value="([^"]*)"', form)]


def _log_count(stack: Stack, name: str, text: str) -> int:
    path = stack.logs / f"{name}.log"
    return path.read_text(errors="replace").count(text) if path.exists() else 0


def _measure(stack: Stack, burst: Burst, fault: str, wait: float = 120, evidence: str = "", outage: bool = False) -> dict:
    started = time.monotonic()
    stored = {
        row[0] for row in stack.query("SELECT email FROM applications_application WHERE email LIKE %s", (f"{burst.label}-%",))
    }
    deadline = time.monotonic() + wait
    while True:
        received = defaultdict(set)
        deliveries = 0
        for message in stack.messages():
            for to in message["to"]:
                if to.startswith(f"{burst.label}-"):
                    received[to].add(message["message_id"])
                    deliveries += 1
        lost = [email for email in stored if not received.get(email)]
        if not lost or time.monotonic() > deadline:
            break
        time.sleep(1)
    figures = {
        "acknowledged": len(burst.acknowledged),
        "stored": len(stored),
        "expected": len(stored),
        "received": sum(len(ids) for email, ids in received.items() if email in stored),
        "lost": len(lost),
        "doubled": sum(1 for ids in received.values() if len(ids) > 1),
        "5xx": burst.server_errors,
        "deliveries": deliveries,
        "unacknowledged stored": len(stored - set(burst.acknowledged)),
    }
    ok = (
        figures["stored"] == figures["acknowledged"]
        and not figures["unacknowledged stored"]
        and figures["lost"] == 0
        and figures["doubled"] == 0
        and (figures["5xx"] == 0 or outage)  # a real database outage answers 503 while it lasts
        and figures["acknowledged"] > 0
    )
    other = ", ".join(f"{k} {v}" for k, v in sorted(burst.other.items())) or "none"
    ROWS.append(
        f"{fault:<34} acknowledged {figures['acknowledged']:>4} | stored {figures['stored']:>4} | "
        f"confirmations expected {figures['expected']:>4}, received {figures['received']:>4} (distinct Message-IDs; "
        f"{figures['deliveries']} deliveries) | lost {figures['lost']} | doubled {figures['doubled']} | "
        f"5xx {figures['5xx']} | other answers: {other} | {evidence}{' | ' if evidence else ''}"
        f"mail settled in {time.monotonic() - started:.0f} s | "
        f"{'PASS' if ok else 'FAIL'}"
    )
    figures["ok"] = ok
    return figures


def test_redis_stopped_for_20_seconds(stack):
    outages = _log_count(stack, "web", "Redis cache unreachable")
    with Burst(stack, "redis") as burst:
        time.sleep(3)
        stack.kill("redis")
        time.sleep(20)
        stack.start_redis()
        time.sleep(6)
    seen = _log_count(stack, "web", "Redis cache unreachable") - outages
    figures = _measure(stack, burst, "Redis stopped for 20 s", evidence=f"web processes that served without Redis {seen}")
    assert seen >= 1
    assert figures["ok"], ROWS[-1]


def test_redis_frozen_for_15_seconds(stack):
    """A Redis that hangs (SIGSTOP) instead of refusing: nobody waits for it longer than a few seconds."""
    with Burst(stack, "frozen") as burst:
        time.sleep(3)
        stack.processes["redis"].send_signal(signal.SIGSTOP)
        time.sleep(15)
        stack.processes["redis"].send_signal(signal.SIGCONT)
        time.sleep(5)
    figures = _measure(stack, burst, "Redis frozen (SIGSTOP) for 15 s", evidence=f"slowest submission {burst.slowest:.1f} s")
    assert figures["ok"], ROWS[-1]
    assert burst.slowest < 10, ROWS[-1]


def test_the_worker_killed_mid_send_and_restarted(stack):
    stack.kill("smtp")
    stack.start_sink(delay=0.3)  # each message takes a while to accept: the worker is caught sending
    with Burst(stack, "worker") as burst:
        sending = f"SELECT count(*) FROM {EMAILS} WHERE status = 'sending' AND \"to\" LIKE 'worker-%%'"
        deadline = time.monotonic() + 20
        while stack.query(sending)[0][0] == 0 and time.monotonic() < deadline:
            time.sleep(0.05)
        stack.kill("worker", signal.SIGKILL)  # while it holds an email it is sending
        time.sleep(3)
        stack.start_worker()
        time.sleep(4)
    stack.kill("smtp")
    stack.start_sink()
    figures = _measure(stack, burst, "Celery worker SIGKILLed mid-send", evidence="")
    recovered = stack.query(f"SELECT count(*) FROM {EMAILS} WHERE lease_expiries > 0 AND \"to\" LIKE 'worker-%%'")[0][0]
    ROWS[-1] = ROWS[-1].replace("| mail settled", f"| sent again after the kill {recovered} | mail settled")
    assert recovered >= 1
    assert figures["ok"], ROWS[-1]


def test_the_smtp_server_down_for_30_seconds(stack):
    with Burst(stack, "smtp") as burst:
        time.sleep(3)
        stack.kill("smtp")
        time.sleep(30)
        stack.start_sink()
        time.sleep(4)
    figures = _measure(stack, burst, "SMTP server down for 30 s")
    assert figures["ok"], ROWS[-1]


def test_postgresql_restarted(stack):
    waits = _log_count(stack, "web", "waiting to try once more")
    with Burst(stack, "postgres", threads=4, pause=0.3) as burst:
        time.sleep(4)
        stack.restart_postgres()
        time.sleep(6)
    retried = _log_count(stack, "web", "waiting to try once more") - waits
    figures = _measure(stack, burst, "PostgreSQL restarted", evidence=f"requests that waited for the database {retried}")
    assert figures["ok"], ROWS[-1]


def test_postgresql_down_for_30_seconds(stack):
    """A real outage: posts get their answers back (503), and sending them again afterwards stores each once."""
    with Burst(stack, "outage", threads=2, pause=1.0) as burst:
        time.sleep(4)
        stack.stop_postgres()
        time.sleep(30)
        stack.start_postgres()
        time.sleep(4)
    resent = 0
    for email, client, form in burst.given_back:
        status, headers, _text = client.request("POST", f"/sessions/{burst.form['number']}/apply/", form)
        if status == 302 and headers.get("location", "").endswith("/apply/sent/"):
            burst.acknowledged.append(email)
            resent += 1
    figures = _measure(
        stack,
        burst,
        "PostgreSQL down for 30 s (an outage)",
        evidence=f"answers given back (503) {len(burst.given_back)}, sent again afterwards and acknowledged {resent}, "
        f"slowest submission {burst.slowest:.0f} s",
        outage=True,
    )
    assert burst.given_back and resent == len(burst.given_back)
    assert burst.slowest < 30  # nobody waits for the database longer than one retry (no gateway time-outs)
    assert figures["ok"], ROWS[-1]
