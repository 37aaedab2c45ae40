"""
Requests per second, p50 and p99 of the public pages, under gunicorn (2 workers, DEBUG off) on
loopback, at 1 and 16 concurrent connections, with wrk (Debian's package).

Builds a full cycle first (scale.py, 150 applications per State by default: about 30,000),
with composed panels and published schedules. The runs alternate between the pages, round after
round, so that the machine's noise hits every page alike; each page's throughput is then given as
a ratio to /healthz measured in the same run (a bare endpoint: the framework's limit here).

Run: python bench/load.py [--per-state 150] [--seconds 4] [--rounds 2]
"""

import argparse
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from services import gunicorn  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent


def wrk(url: str, connections: int, seconds: int) -> dict:
    out = subprocess.run(
        ["wrk", "-t1", f"-c{connections}", f"-d{seconds}s", "--latency", url], capture_output=True, text=True, check=True
    ).stdout

    def ms(label):
        match = re.search(rf"^\s+{label}%\s+([\d.]+)(us|ms|s)", out, re.M)
        value, unit = float(match.group(1)), match.group(2)
        return value / 1000 if unit == "us" else value * 1000 if unit == "s" else value

    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    return {
        "rps": float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1)),
        "p50": ms("50"),
        "p99": ms("99"),
        "errors": int(errors.group(1)) if errors else 0,
    }


def main(argv=None) -> list[dict]:
    parser = argparse.ArgumentParser()
    parser.add_argument("--per-state", type=int, default=150)
    parser.add_argument("--seconds", type=int, default=4)
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args(argv)
    if not shutil.which("wrk"):
        print("load: skipped (needs wrk: apt-get install wrk)")
        return []
    work = Path(tempfile.mkdtemp(prefix="presessions-load-"))
    env = {
        **os.environ,
        "DATABASE_URL": os.environ.get("BENCH_DATABASE_URL", f"sqlite:///{work / 'load.sqlite3'}"),
        "DEBUG": "0",
        "SECRET_KEY": "load-" + "z8" * 30,
        "ALLOWED_HOSTS": "127.0.0.1",
        "SECURE_SSL_REDIRECT": "0",
        "COOKIES_SECURE": "0",
        "LOG_LEVEL": "WARNING",
    }
    env.pop("REDIS_URL", None)

    def manage(*cmd):
        return subprocess.run(
            [sys.executable, "manage.py", *cmd], cwd=ROOT, env=env, check=True, capture_output=True, text=True
        ).stdout

    manage("migrate", "--noinput")
    manage("collectstatic", "--noinput")
    manage("compiletranslations")
    print(
        manage(
            "shell", "-c", f"import bench.scale as s; print('applications:', s.build({args.per_state})); s.compose_and_publish()"
        )
        .strip()
        .splitlines()[-1]
    )
    pages = {
        "/healthz": "/healthz",
        "/": "/",
        "/calendar/": "/calendar/",
        "country page": "/countries/ke/",
        "session page": "/sessions/54/",
        "schedule": "/sessions/54/schedule/",
        "schedule.ics": "/sessions/54/schedule.ics",
        "application form": "/sessions/54/apply/",
    }
    rows = []
    try:
        with gunicorn(env, ROOT) as base:
            for path in pages.values():
                subprocess.run(["curl", "-s", "-o", "/dev/null", base + path], check=False)
            for connections in (1, 16):
                samples = {name: [] for name in pages}
                for _ in range(args.rounds):
                    for name, path in pages.items():
                        samples[name].append(wrk(base + path, connections, args.seconds))
                bare = [run["rps"] for run in samples["/healthz"]]
                for name, runs in samples.items():
                    row = {
                        "page": name,
                        "connections": connections,
                        "rps": statistics.median(r["rps"] for r in runs),
                        "p50_ms": statistics.median(r["p50"] for r in runs),
                        "p99_ms": statistics.median(r["p99"] for r in runs),
                        "errors": sum(r["errors"] for r in runs),
                    }
                    # Each round's ratio is taken against /healthz measured in that same round (the
                    # machine's noise drifts between rounds), and the median of the rounds is reported.
                    row["ratio"] = statistics.median(run["rps"] / healthz for run, healthz in zip(runs, bare, strict=True))
                    rows.append(row)
                    print(
                        f"c={connections:<2} {name:18} {row['rps']:7.0f} req/s  ratio {row['ratio']:.2f}  p50 {row['p50_ms']:.1f} ms  p99 {row['p99_ms']:.1f} ms  errors {row['errors']}"
                    )
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return rows


if __name__ == "__main__":
    main()
