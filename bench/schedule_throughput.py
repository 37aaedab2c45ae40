"""
Throughput of the public schedule against a bare Django view, under the same gunicorn setup.

Builds a throwaway SQLite database with the demo data, composes and finalises every panel of the
demo session, builds and publishes the week, then serves the app with gunicorn (2 workers,
DEBUG off) on loopback and loads it with wrk (Debian's package) at 16 connections. Runs
alternate between the pages so that the machine's noise hits both alike; the figure is the ratio
of the schedule's requests per second to /healthz's, measured in the same run.

Run: python bench/schedule_throughput.py   (needs wrk: apt-get install wrk)
"""

import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import urllib.request
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from services import gunicorn  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
PYTHON = sys.executable
ROUNDS, SECONDS, CONNECTIONS = 3, 5, 16


def main():
    if not shutil.which("wrk"):
        sys.exit("wrk is not installed (apt-get install wrk)")
    work = Path(tempfile.mkdtemp(prefix="presessions-bench-"))
    env = {
        **os.environ,
        "DATABASE_URL": f"sqlite:///{work / 'bench.sqlite3'}",
        "DEBUG": "0",
        "SECRET_KEY": "bench-" + "x9" * 30,
        "ALLOWED_HOSTS": "127.0.0.1",
        "SECURE_SSL_REDIRECT": "0",
        "LOG_LEVEL": "WARNING",
    }
    env.pop("REDIS_URL", None)

    def manage(*args, **kw):
        subprocess.run([PYTHON, "manage.py", *args], cwd=ROOT, env=env, check=True, stdout=subprocess.DEVNULL, **kw)

    manage("migrate", "--noinput")
    manage("collectstatic", "--noinput")
    manage("compiletranslations")
    manage("load_demo", "--even-with-debug-off")
    script = (
        "from presessions.models import Call\n"
        "from panels import domain, publishing\n"
        "session = Call.objects.order_by('-opens_at').first().session\n"
        "for panel in domain.compose_session(session):\n"
        "    panel.is_final or domain.finalise_panel(panel)\n"
        "publishing.build_schedule(session)\n"
        "print(publishing.publish(session).session.number)\n"
    )
    number = subprocess.run(
        [PYTHON, "manage.py", "shell", "-c", script], cwd=ROOT, env=env, check=True, capture_output=True, text=True
    ).stdout.split()[-1]
    with gunicorn(env, ROOT) as base:
        pages = {"/healthz": "/healthz", "schedule": f"/sessions/{number}/schedule/"}
        for path in pages.values():  # warm the caches
            urllib.request.urlopen(base + path).read()
        results = {name: [] for name in pages}
        for _ in range(ROUNDS):
            for name, path in pages.items():
                out = subprocess.run(
                    ["wrk", "-t1", f"-c{CONNECTIONS}", f"-d{SECONDS}s", "--latency", base + path],
                    capture_output=True,
                    text=True,
                    check=True,
                ).stdout
                results[name].append(float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1)))
        bare = statistics.median(results["/healthz"])
        for name, values in results.items():
            median = statistics.median(values)
            print(f"{name:10} {median:8.0f} req/s  ratio {median / bare:.2f}  runs: {', '.join(f'{v:.0f}' for v in values)}")
    shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
