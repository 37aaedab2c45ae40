"""
Where a submission's CPU goes: the application form's GET and POST, in one process, profiled.

Runs against throwaway PostgreSQL and Redis servers (services.py) with the demo data, through
Django's test client and the whole middleware stack, as bench/deadline_rush.py's clients do (but
without gunicorn). Prints the CPU time of a GET and a POST (the test client's own work included),
then the POST's profiled time grouped by package, and the queries of one POST.

Run: python bench/profile_submission.py [--posts 300]
"""

import argparse
import cProfile
import os
import pstats
import re
import sys
import time
import urllib.parse
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from services import postgres, redis  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
CSRF = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')
FORM_TOKEN = re.compile(r'name="app-form_token" value="([^"]+)"')


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--posts", type=int, default=300)
    args = parser.parse_args()
    with postgres() as database_url, redis() as redis_url:
        if not database_url or not redis_url:
            print("profile: skipped (needs PostgreSQL and Redis: apt-get install postgresql redis-server)")
            return
        os.environ.update(
            DATABASE_URL=database_url,
            REDIS_URL=redis_url,
            DEBUG="0",
            SECRET_KEY="profile-" + "q4" * 30,
            ALLOWED_HOSTS="testserver",
            SECURE_SSL_REDIRECT="0",
            COOKIES_SECURE="0",
            APPLICATION_RATELIMIT="100000/m",
            LOG_LEVEL="WARNING",
            DJANGO_SETTINGS_MODULE="config.settings",
        )
        sys.path.insert(0, str(ROOT))
        os.chdir(ROOT)
        profile(args.posts)


def profile(posts: int) -> None:
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    call_command("migrate", verbosity=0)
    call_command("load_demo", "--even-with-debug-off", verbosity=0)
    from presessions.models import Call, Theme

    call = Call.objects.order_by("-opens_at").first()
    path = f"/sessions/{call.session.number}/apply/"
    review = call.session.reviews.get(country="TG").pk
    themes = [str(pk) for pk in Theme.objects.values_list("pk", flat=True)[:2]]
    client = Client(enforce_csrf_checks=True)  # one client: its handler loads the middleware once

    def submit(index: int, profiler=None) -> tuple[float, float]:
        client.cookies.clear()
        started = time.process_time()
        page = client.get(path).content.decode()
        got = time.process_time()
        email = f"profile-{index}@example.org"
        fields = {
            "csrfmiddlewaretoken": CSRF.search(page).group(1),
            "action": "submit",
            "app-form_token": FORM_TOKEN.search(page).group(1),
            "app-review": review,
            "org-name": f"Profiled Organisation {index}",
            "org-kind": "cso",
            "org-cso_form": "ngo",
            "org-country": "TG",
            "org-scope": "national",
            "org-email": email,
            "app-report_submitted": "none",
            "app-statement_summary": "A statement.",
            "app-speaker_name": f"Speaker {index}",
            "app-speaker_gender": "woman",
            "app-speaker_role": "Director",
            "app-speaker_email": email,
            "app-working_language": "en",
            "app-attendance": "in_person",
            "app-consent_data": "on",
            "app-publication": "nothing",
            "app-themes": themes,
        }
        body = urllib.parse.urlencode(fields, doseq=True)
        if profiler:
            profiler.enable()
        response = client.post(path, body, content_type="application/x-www-form-urlencoded")
        if profiler:
            profiler.disable()
        assert response.status_code == 302, response.status_code
        return got - started, time.process_time() - got

    for index in range(30):  # warm up: templates, the blank form's copy, connections
        submit(index)
    timings = [submit(index) for index in range(30, 30 + posts)]
    print(
        f"CPU per request (this process, the test client's work included): GET {sum(t[0] for t in timings) / posts * 1000:.2f} ms, "
        f"POST {sum(t[1] for t in timings) / posts * 1000:.2f} ms"
    )
    profiler = cProfile.Profile()
    for index in range(10_000, 10_000 + posts):
        submit(index, profiler)
    groups = Counter()
    for (filename, _line, _name), (_calls, _primitive, own, _cumulative, _callers) in pstats.Stats(profiler).stats.items():
        name = filename.split("site-packages/")[-1].split("lib/python3")[-1]
        if filename.startswith(str(ROOT)) and ".venv" not in filename:
            group = "project: " + os.path.relpath(filename, ROOT)
        elif name.startswith("django/"):
            group = "/".join(name.split("/")[:3])
        else:
            group = name.strip("/.0123456789").split("/")[0] or filename
        groups[group if group != "~" else "(Python's built-in functions)"] += own
    print("POST, profiled (wall time, so psycopg includes waiting for PostgreSQL), per POST:")
    for group, seconds in groups.most_common(15):
        print(f"  {seconds / posts * 1000:6.2f} ms  {group}")
    print(f"  {sum(groups.values()) / posts * 1000:6.2f} ms  in all, with the profiler's own overhead")
    with CaptureQueriesContext(connection) as queries:
        submit(99_999)
    print(f"queries of one GET and POST: {len(queries)}")
    for query in queries.captured_queries:
        print("  " + query["sql"][:110])


if __name__ == "__main__":
    main()
