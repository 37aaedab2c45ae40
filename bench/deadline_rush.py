"""
Deadline day: 2,000 applications posted by 32 concurrent clients.

Runs against PostgreSQL and a real Celery worker on Redis (throwaway servers from Debian's
packages, see services.py), with gunicorn (2 workers) on loopback and an SMTP sink. Each
client loads the form first, as a browser would, to get its CSRF cookie and token, then posts.
Prints the throughput and the errors, then checks that exactly 2,000 applications are stored
and exactly 2,000 confirmations reached the sink: nothing lost, nothing doubled.

Run: python bench/deadline_rush.py [--total 2000] [--clients 32]
"""

import argparse
import http.cookiejar
import os
import re
import subprocess
import sys
import threading
import time
import urllib.parse
import urllib.request
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from aiosmtpd.controller import Controller  # noqa: E402
from services import free_port, gunicorn, postgres, redis  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent


class Sink:
    def __init__(self):
        self.recipients = Counter()
        self.lock = threading.Lock()

    async def handle_DATA(self, server, session, envelope):
        if b"Application received" in envelope.content:
            with self.lock:
                for rcpt in envelope.rcpt_tos:
                    self.recipients[rcpt] += 1
        return "250 OK"


def submit(base: str, number: str, review: str, themes: list[str], index: int) -> int:
    jar = http.cookiejar.CookieJar()
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar), urllib.request.HTTPRedirectHandler())
    opener.addheaders = [("Accept-Encoding", "identity")]
    page = opener.open(f"{base}/sessions/{number}/apply/").read().decode()
    csrf = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page).group(1)
    token = re.search(r'name="app-form_token" value="([^"]+)"', page).group(1)
    email = f"rush-{index:05d}@example.org"
    fields = [
        ("csrfmiddlewaretoken", csrf),
        ("action", "submit"),
        ("app-form_token", token),
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
    request = urllib.request.Request(
        f"{base}/sessions/{number}/apply/", data=urllib.parse.urlencode(fields).encode(), headers={"Referer": base}
    )

    class NoRedirect(urllib.request.HTTPRedirectHandler):
        def redirect_request(self, *args, **kwargs):
            return None

    no_redirect = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar), NoRedirect())
    try:
        response = no_redirect.open(request)
        return response.status
    except urllib.error.HTTPError as error:
        return error.code


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--total", type=int, default=2000)
    parser.add_argument("--clients", type=int, default=32)
    args = parser.parse_args()
    with postgres() as database_url, redis() as redis_url:
        if not database_url or not redis_url:
            print("deadline rush: skipped (needs PostgreSQL and Redis: apt-get install postgresql redis-server)")
            return
        sink = Sink()
        smtp = Controller(sink, hostname="127.0.0.1", port=free_port())
        smtp.start()
        port = free_port()
        base = f"http://127.0.0.1:{port}"
        env = {
            **os.environ,
            "DATABASE_URL": database_url,
            "REDIS_URL": redis_url,
            "EMAIL_URL": f"smtp://127.0.0.1:{smtp.port}",
            "SITE_URL": base,
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

        manage("migrate", "--noinput")
        manage("collectstatic", "--noinput")
        manage("load_demo")
        info = manage(
            "shell",
            "-c",
            "from presessions.models import Call, Theme; c = Call.objects.order_by('-opens_at').first(); "
            "print(c.session.number, c.session.reviews.get(country='TG').pk, *Theme.objects.values_list('pk', flat=True)[:2])",
        ).split()
        number, review, themes = info[-4], info[-3], info[-2:]
        before = int(
            manage("shell", "-c", "from applications.models import Application; print(Application.objects.count())").split()[-1]
        )
        worker = subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "presessions", "worker", "--concurrency", "2", "--loglevel", "WARNING"],
            cwd=ROOT,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            with gunicorn(env, ROOT, port=port):
                start = time.perf_counter()
                with ThreadPoolExecutor(max_workers=args.clients) as pool:
                    codes = Counter(pool.map(lambda i: submit(base, number, review, themes, i), range(args.total)))
                elapsed = time.perf_counter() - start
                errors = sum(n for code, n in codes.items() if code != 302)
                print(
                    f"deadline rush: {args.total} submissions from {args.clients} clients in {elapsed:.1f}s = {args.total / elapsed:.1f}/s; "
                    f"responses {dict(codes)}; errors {errors}"
                )
                deadline = time.monotonic() + 180
                while time.monotonic() < deadline and sum(sink.recipients.values()) < args.total:
                    time.sleep(0.5)
                stored = (
                    int(
                        manage(
                            "shell", "-c", "from applications.models import Application; print(Application.objects.count())"
                        ).split()[-1]
                    )
                    - before
                )
                received = sum(sink.recipients.values())
                doubled = sum(1 for n in sink.recipients.values() if n > 1)
                print(
                    f"stored {stored} (lost {args.total - stored}), confirmations received {received} "
                    f"(lost {args.total - len(sink.recipients)}, doubled {doubled})"
                )
        finally:
            worker.terminate()
            worker.wait(20)
            smtp.stop()


if __name__ == "__main__":
    main()
