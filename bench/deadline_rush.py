"""
Deadline day: 2,000 applications posted by 32 concurrent clients.

Runs against PostgreSQL and a real Celery worker on Redis (throwaway servers from Debian's
packages, see services.py), with gunicorn (2 workers) on loopback and an SMTP sink. Each
client loads the form first, as a browser would, to get its CSRF cookie and token, then posts.
Prints the throughput and the errors, then checks that exactly 2,000 applications are stored
and exactly 2,000 confirmations reached the sink: nothing lost, nothing doubled. The
confirmations go through the outbox relay (outbox.delivery.relay), in batches: the last line says
how much CPU each component used per submission, the worker's share included.

Run: python bench/deadline_rush.py [--total 2000] [--clients 32]
"""

import argparse
import contextlib
import http.client
import json
import os
import re
import socket
import subprocess
import sys
import tempfile
import time
import urllib.parse
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from services import cpu_seconds, cpu_used, free_port, gunicorn, postgres, redis  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
CSRF = re.compile(rb'name="csrfmiddlewaretoken" value="([^"]+)"')
FORM_TOKEN = re.compile(rb'name="app-form_token" value="([^"]+)"')


def submit(port: int, number: str, review: str, themes: list[str], index: int) -> int:
    """One applicant: load the form (CSRF cookie and token, one-time form token), then post it."""
    path = f"/sessions/{number}/apply/"
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    connection.request("GET", path)
    response = connection.getresponse()
    page = response.read()
    cookies = "; ".join(value.split(";", 1)[0] for name, value in response.getheaders() if name.lower() == "set-cookie")
    connection.close()
    email = f"rush-{index:05d}@example.org"
    fields = [
        ("csrfmiddlewaretoken", CSRF.search(page).group(1).decode()),
        ("action", "submit"),
        ("app-form_token", FORM_TOKEN.search(page).group(1).decode()),
        ("app-review", review),
        ("org-name", f"Rush Organisation {index}"),
        ("org-kind", "cso"),
        ("org-cso_form", "ngo"),
        ("org-country", "TG"),
        ("org-scope", "national"),
        ("org-email", email),
        ("app-report_submitted", "none"),
        ("app-statement_summary", "A statement written under deadline pressure."),
        ("app-speaker_name", f"Speaker {index}"),
        ("app-speaker_gender", "woman" if index % 2 else "man"),
        ("app-speaker_role", "Director"),
        ("app-speaker_email", email),
        ("app-working_language", "en"),
        ("app-attendance", "in_person"),
        ("app-consent_data", "on"),
        ("app-publication", "nothing"),
        *[("app-themes", t) for t in themes],
    ]
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    connection.request(
        "POST",
        path,
        body=urllib.parse.urlencode(fields),
        headers={
            "Content-Type": "application/x-www-form-urlencoded",
            "Cookie": cookies,
            "Referer": f"http://127.0.0.1:{port}{path}",
        },
    )
    response = connection.getresponse()
    response.read()
    connection.close()
    return response.status


@contextlib.contextmanager
def smtp_sink():
    """Yield (port, read) for an SMTP sink in its own process; read() returns {recipient: count}."""
    port, out = free_port(), tempfile.mktemp(prefix="rush-sink-", suffix=".json")
    sink = subprocess.Popen([sys.executable, str(Path(__file__).with_name("smtp_sink.py")), "--port", str(port), "--out", out])

    def read() -> Counter:
        with contextlib.suppress(OSError, ValueError), open(out) as f:
            return Counter(json.load(f))
        return Counter()

    try:
        for _ in range(100):
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=0.2):
                break
            time.sleep(0.1)
        yield port, read
    finally:
        sink.terminate()
        sink.wait(10)
        with contextlib.suppress(OSError):
            os.remove(out)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--total", type=int, default=2000)
    parser.add_argument("--clients", type=int, default=32)
    parser.add_argument("--pool", default="prefork", help="the Celery worker's pool (prefork, threads, solo)")
    args = parser.parse_args()
    with postgres() as database_url, redis() as redis_url:
        if not database_url or not redis_url:
            print("deadline rush: skipped (needs PostgreSQL and Redis: apt-get install postgresql redis-server)")
            return
        with smtp_sink() as (smtp_port, received_by):
            rush(args, database_url, redis_url, smtp_port, received_by)


def rush(args, database_url: str, redis_url: str, smtp_port: int, received_by) -> None:
    port = free_port()
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "REDIS_URL": redis_url,
        "EMAIL_URL": f"smtp://127.0.0.1:{smtp_port}",
        "SITE_URL": f"http://127.0.0.1:{port}",
        "DEBUG": "0",
        "SECRET_KEY": "rush-" + "q4" * 30,
        "ALLOWED_HOSTS": "127.0.0.1",
        "SECURE_SSL_REDIRECT": "0",
        "COOKIES_SECURE": "0",
        "APPLICATION_RATELIMIT": "100000/m",
        "LOG_LEVEL": "WARNING",
    }

    def manage(*cmd):
        return subprocess.run(
            [sys.executable, "manage.py", *cmd], cwd=ROOT, env=env, check=True, capture_output=True, text=True
        ).stdout

    def stored() -> int:
        count = "from applications.models import Application; print(Application.objects.count())"
        return int(manage("shell", "-c", count).split()[-1])

    manage("migrate", "--noinput")
    manage("collectstatic", "--noinput")
    manage("load_demo", "--even-with-debug-off")
    info = manage(
        "shell",
        "-c",
        "from presessions.models import Call, Theme; c = Call.objects.order_by('-opens_at').first(); "
        "print(c.session.number, c.session.reviews.get(country='TG').pk, *Theme.objects.values_list('pk', flat=True)[:2])",
    ).split()
    number, review, themes = info[-4], info[-3], info[-2:]
    before = stored()
    already = sum(received_by().values())
    worker = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "config",
            "worker",
            "--pool",
            args.pool,
            "--concurrency",
            "2",
            "--loglevel",
            "WARNING",
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        with gunicorn(env, ROOT, port=port):
            cpu_before = cpu_seconds()
            start = time.perf_counter()
            with ThreadPoolExecutor(max_workers=args.clients) as pool:
                codes = Counter(pool.map(lambda i: submit(port, number, review, themes, i), range(args.total)))
            elapsed = time.perf_counter() - start
            errors = sum(n for code, n in codes.items() if code != 302)
            print(
                f"deadline rush: {args.total} submissions from {args.clients} clients in {elapsed:.1f}s = "
                f"{args.total / elapsed:.1f}/s; responses {dict(codes)}; errors {errors}"
            )
            deadline = time.monotonic() + 300
            while time.monotonic() < deadline and sum(received_by().values()) - already < args.total:
                time.sleep(0.2)
            drained = time.perf_counter() - start
            cpu = cpu_used(cpu_before, cpu_seconds())
            time.sleep(1)  # anything sent twice would arrive now
            received = received_by()
            rush_recipients = {r: n for r, n in received.items() if r.startswith("rush-")}
            count = stored() - before
            doubled = sum(1 for n in rush_recipients.values() if n > 1)
            print(
                f"stored {count} (lost {args.total - count}), confirmations received {sum(rush_recipients.values())} "
                f"(lost {args.total - len(rush_recipients)}, doubled {doubled}); "
                f"the last confirmation arrived {drained:.1f}s after the first submission"
            )
            total_cpu = sum(cpu.values())
            print(
                f"CPU per submission: {total_cpu / args.total * 1000:.1f} ms in all ("
                + ", ".join(
                    f"{name} {seconds / args.total * 1000:.1f}" for name, seconds in sorted(cpu.items(), key=lambda x: -x[1])
                )
                + ")"
            )
    finally:
        worker.terminate()
        worker.wait(20)


if __name__ == "__main__":
    main()
