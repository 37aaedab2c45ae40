"""
How the staff pages and the optimiser cope as the data grows: 1,000, 10,000 and 30,000 applications.

For each size, builds a fresh database (seeded, see scale.py) and times, with their query counts:
the admin application list (a coordinator), the coordinator dashboard of one session, and
composing every panel of one session. Query counts must stay the same across sizes.

The databases are PostgreSQL's (a throwaway server, see services.py), as in production; without
PostgreSQL installed they are SQLite files, where composing makes a few more queries at 30,000
because SQLite splits a long bulk insert at its 999-variable limit.

Run: python bench/growth.py   (prints one line per size, then a table)
"""

import contextlib
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from services import postgres  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
SIZES = [1000, 10000, 30000]
STATES = 192  # reviews taking place in the 4th-cycle calendar


def measure(total: int) -> dict:
    """Run inside Django: build the data, then time each page or action twice (the second, warm, run counts)."""
    from django.contrib.auth import get_user_model  # measure() runs in manage.py shell; main() runs without Django
    from django.db import connection  # measure() runs in manage.py shell; main() runs without Django
    from django.test import Client  # measure() runs in manage.py shell; main() runs without Django
    from django.test.utils import CaptureQueriesContext  # measure() runs in manage.py shell; main() runs without Django
    from django_otp import DEVICE_ID_SESSION_KEY  # measure() runs in manage.py shell; main() runs without Django
    from django_otp.plugins.otp_totp.models import TOTPDevice  # measure() runs in manage.py shell; main() runs without Django

    from bench import scale  # measure() runs in manage.py shell; main() runs without Django
    from panels import domain  # measure() runs in manage.py shell; main() runs without Django
    from presessions.models import Session  # measure() runs in manage.py shell; main() runs without Django

    created = scale.build(max(1, total // STATES))
    user = get_user_model().objects.get(username="bench-assessor")
    client = Client()
    client.force_login(user)
    # Staff pages open only with a verified second factor: sign in as the two-step login would.
    device = TOTPDevice.objects.get_or_create(user=user, name="bench", defaults={"confirmed": True})[0]
    signed_in = client.session
    signed_in[DEVICE_ID_SESSION_KEY] = device.persistent_id
    signed_in["_last_seen"] = int(time.time())
    signed_in.save()
    session = Session.objects.get(number=54)
    results = {"applications": created}

    def timed(name, action):
        action()
        with CaptureQueriesContext(connection) as ctx:
            start = time.perf_counter()
            action()
            elapsed = time.perf_counter() - start
        results[name] = {"seconds": round(elapsed, 3), "queries": len(ctx.captured_queries)}

    def page(url):
        response = client.get(url)
        assert response.status_code == 200, (url, response.status_code)  # a redirect to the login would measure nothing

    timed("admin list", lambda: page("/admin/applications/application/"))
    timed("dashboard", lambda: page(f"/staff/sessions/{session.number}/dashboard/"))
    timed("compose one session", lambda: domain.compose_session(session))
    return results


@contextlib.contextmanager
def database(server_url: str | None, size: int):
    """Yield the DATABASE_URL of a new, empty database for one size."""
    if server_url is None:
        with tempfile.TemporaryDirectory() as work:
            yield f"sqlite:///{work}/growth.sqlite3"
        return
    name = f"growth_{size}"
    base = server_url.rsplit("/", 1)[0]
    subprocess.run(
        ["psql", server_url, "-q", "-c", f"DROP DATABASE IF EXISTS {name}", "-c", f"CREATE DATABASE {name}"], check=True
    )
    yield f"{base}/{name}"


def main():
    rows = []
    with postgres() as server_url:
        print(f"database: {'PostgreSQL' if server_url else 'SQLite (PostgreSQL is not installed)'}")
        for size in SIZES:
            rows.append(run_size(server_url, size))
    report(rows)


def run_size(server_url: str | None, size: int) -> dict:
    with database(server_url, size) as url:
        env = {**os.environ, "DATABASE_URL": url, "LOG_LEVEL": "WARNING"}
        env.pop("REDIS_URL", None)
        subprocess.run([sys.executable, "manage.py", "migrate", "--noinput"], cwd=ROOT, env=env, check=True, capture_output=True)
        script = f"import json, bench.growth as g; print('RESULT ' + json.dumps(g.measure({size})))"
        out = subprocess.run(
            [sys.executable, "manage.py", "shell", "-c", script],
            cwd=ROOT,
            env=env,
            check=True,
            capture_output=True,
            text=True,
        ).stdout
        result = json.loads(out.split("RESULT ", 1)[1])
        print(
            f"{result['applications']:>6} applications: "
            + "; ".join(f"{k} {v['seconds']}s / {v['queries']} queries" for k, v in result.items() if k != "applications")
        )
        return result


def report(rows: list[dict]) -> None:
    names = [k for k in rows[0] if k != "applications"]
    print("\n| applications | " + " | ".join(names) + " |")
    print("|---:|" + "---|" * len(names))
    for row in rows:
        print(
            f"| {row['applications']} | "
            + " | ".join(f"{row[n]['seconds']} s, {row[n]['queries']} queries" for n in names)
            + " |"
        )
    flat = {n: len({row[n]["queries"] for row in rows}) == 1 for n in names}
    print("\nquery counts flat across sizes: " + ", ".join(f"{n} {'yes' if ok else 'NO'}" for n, ok in flat.items()))


if __name__ == "__main__":
    main()
