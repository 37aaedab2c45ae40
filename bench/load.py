"""
Requests per second, p50 and p99 of the public pages under gunicorn (2 sync workers, DEBUG off,
gunicorn.conf.py) on loopback, at 16 and at 1 connection, with wrk (Debian's package), against the
framework's limit: a bare Django view (bench/bare: no middleware, no database, a 2 KB page) served
the same way on another port.

Builds a full cycle first (scale.py, 150 applications per State by default: about 30,000), with
composed panels and published schedules. The site runs with Redis (REDIS_URL) as in production
when redis-server is installed (services.redis starts a throwaway one), without it otherwise.

The runs alternate between the bare view and the pages, round after round, so that the machine's
noise hits every page alike; each page's throughput is given as a ratio to the bare view and to
/healthz (which pays the whole middleware stack) measured in the same round, the median of the
rounds. During each run the CPU that other processes used (the machine's busy time from
/proc/stat, less that of the servers, Redis, wrk and this script) is recorded; a run where they
took more than NOISY of the machine is flagged, and so is every figure it went into.

Run: python bench/load.py [--per-state 150] [--seconds 4] [--rounds 3] [--access-log]
"""

from __future__ import annotations

import argparse
import glob
import os
import re
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from services import gunicorn, nginx_cache, redis  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
BARE = "bare Django view"
GZIP = "/ (gzip)"
PAGES = {
    "/healthz": "/healthz",
    "/": "/",
    "/calendar/": "/calendar/",
    "country page": "/countries/ke/",
    "session page": "/sessions/54/",
    "schedule": "/sessions/54/schedule/",
    "schedule.ics": "/sessions/54/schedule.ics",
    "application form": "/sessions/54/apply/",
    GZIP: "/",
}
# The pages served from the cache whole (presessions.caching), and the form (a cached page with slots).
CACHED = ["/", "/calendar/", "country page", "session page", "schedule", "schedule.ics"]
# The same public pages through nginx's optional page cache (deploy/nginx/presessions-cache*.conf).
NGINX_PAGES = {f"{name} (nginx cache)": PAGES[name] for name in ("/", "/calendar/", "session page", "schedule", "schedule.ics")}
FORM = "application form"
# Targets (issue 20): [pages], connections, what, threshold.
TARGETS = [
    (CACHED, 16, "ratio_bare", 0.9),
    (CACHED, 1, "ratio_bare", 0.8),
    ([FORM], 16, "ratio_bare", 0.8),
    (CACHED, 16, "p99_ms", 20.0),
    (CACHED, 1, "p99_ms", 5.0),
    (list(NGINX_PAGES), 16, "ratio_bare", 3.0),
]
# A run is noisy when other processes used more than this share of the machine (all cores) meanwhile.
NOISY = 0.05
TICK = os.sysconf("SC_CLK_TCK")


# ----------------------------------------------------------------------------- CPU accounting


def machine_busy() -> float:
    """CPU seconds the whole machine has spent busy since boot (every core), from /proc/stat."""
    with open("/proc/stat") as f:
        fields = [int(x) for x in f.readline().split()[1:]]
    user, nice, system, _idle, _iowait, irq, softirq, steal = fields[:8]
    return (user + nice + system + irq + softirq + steal) / TICK


def _stat(pid: int) -> list[str] | None:
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()
    except OSError:
        return None


def processes_cpu(roots: list[int]) -> float:
    """
    CPU seconds used by `roots` and their children, including children already reaped (a worker
    replaced meanwhile: its time moves to its parent's cutime and cstime).
    """
    total = 0.0
    for pid in roots:
        fields = _stat(pid)
        if fields:  # utime, stime, cutime, cstime: fields 14-17 of stat, from index 11 after the ")"
            total += sum(int(x) for x in fields[11:15]) / TICK
    for path in glob.glob("/proc/[0-9]*/stat"):
        pid = int(path.split("/")[2])
        fields = _stat(pid)
        if fields and int(fields[1]) in roots:  # the parent's pid is the field after the state
            total += sum(int(x) for x in fields[11:13]) / TICK
    return total


def workers(master: int) -> dict[int, int]:
    """The resident memory (MiB) of each worker of a gunicorn `master`, by pid."""
    found = {}
    for path in glob.glob("/proc/[0-9]*/stat"):
        pid = int(path.split("/")[2])
        fields = _stat(pid)
        if fields and int(fields[1]) == master:
            try:
                with open(f"/proc/{pid}/status") as f:
                    found[pid] = next(int(line.split()[1]) // 1024 for line in f if line.startswith("VmRSS"))
            except (OSError, StopIteration):
                continue
    return found


def children_cpu() -> float:
    """CPU seconds of this script's reaped children (wrk) and of the script itself."""
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    own = resource.getrusage(resource.RUSAGE_SELF)
    return children.ru_utime + children.ru_stime + own.ru_utime + own.ru_stime


# ------------------------------------------------------------------------------------ wrk


def wrk(url: str, connections: int, seconds: int, ours: list[int], headers: tuple[str, ...] = ()) -> dict:
    command = ["wrk", "-t1", f"-c{connections}", f"-d{seconds}s", "--latency"]
    for header in headers:
        command += ["-H", header]
    busy, mine, served, started = machine_busy(), children_cpu(), processes_cpu(ours), time.monotonic()
    out = subprocess.run([*command, url], capture_output=True, text=True, check=True).stdout
    wall = time.monotonic() - started
    others = (machine_busy() - busy) - (children_cpu() - mine) - (processes_cpu(ours) - served)

    def ms(label):
        match = re.search(rf"^\s+{label}%\s+([\d.]+)(us|ms|s)", out, re.M)
        value, unit = float(match.group(1)), match.group(2)
        return value / 1000 if unit == "us" else value * 1000 if unit == "s" else value

    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    socket_errors = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    share = max(0.0, others) / (wall * (os.cpu_count() or 1))
    return {
        "rps": float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1)),
        "p50": ms("50"),
        "p99": ms("99"),
        "errors": (int(errors.group(1)) if errors else 0) + (sum(map(int, socket_errors.groups())) if socket_errors else 0),
        "others": share,
        "noisy": share > NOISY,
    }


# ---------------------------------------------------------------------------------- main


def summarise(name: str, connections: int, runs: list[dict], bare: list[dict], healthz: list[dict]) -> dict:
    """One page at one number of connections: medians of the rounds, each ratio taken within its round."""
    return {
        "page": name,
        "connections": connections,
        "rps": statistics.median(r["rps"] for r in runs),
        "ratio_bare": statistics.median(r["rps"] / b["rps"] for r, b in zip(runs, bare, strict=True)),
        "ratio_healthz": statistics.median(r["rps"] / h["rps"] for r, h in zip(runs, healthz, strict=True)),
        "p50_ms": statistics.median(r["p50"] for r in runs),
        "p99_ms": statistics.median(r["p99"] for r in runs),
        "errors": sum(r["errors"] for r in runs),
        # Other processes' share of the machine: the largest of this page's runs, and of the bare view's
        # runs it is compared with.
        "others": max(r["others"] for r in runs + bare),
        "others_mean": statistics.mean(r["others"] for r in runs),
        "noisy": any(r["noisy"] for r in runs + bare),
        "runs": len(runs),
        "noisy_runs": sum(r["noisy"] for r in runs),
    }


def targets(rows: list[dict]) -> list[str]:
    """Each target of issue 20, met or missed, with the figures behind it."""
    lines = []
    by = {(r["page"], r["connections"]): r for r in rows}
    for pages, connections, what, threshold in TARGETS:
        values = {page: by[(page, connections)][what] for page in pages if (page, connections) in by}
        if not values:
            continue
        ratio = what == "ratio_bare"
        worst = (min if ratio else max)(values, key=values.get)
        met = values[worst] >= threshold if ratio else values[worst] < threshold
        which = (
            "the form (GET)"
            if pages == [FORM]
            else "pages through nginx's cache"
            if pages == list(NGINX_PAGES)
            else "cached pages"
        )
        label = f"{which} at least {threshold} of the bare view" if ratio else f"{which}' p99 under {threshold:g} ms"
        figures = ", ".join(f"{page} {value:.2f}" if ratio else f"{page} {value:.1f} ms" for page, value in values.items())
        lines.append(f"{'met' if met else 'MISSED'}: {label} at {connections} connection(s) ({figures})")
    return lines


def noise(rows: list[dict]) -> str:
    """How busy the machine was with other work during the runs."""
    runs = sum(r["runs"] for r in rows)
    noisy = sum(r["noisy_runs"] for r in rows)
    return (
        f"Other processes used on average {statistics.mean(r['others_mean'] for r in rows):.1%} of the machine during a run, "
        f"at most {max(r['others'] for r in rows):.1%}; {noisy} of {runs} runs noisy (over {NOISY:.0%})"
        + (": the flagged figures are less trustworthy" if noisy else "")
    )


def main(argv=None) -> list[dict]:
    parser = argparse.ArgumentParser()
    parser.add_argument("--per-state", type=int, default=150)
    parser.add_argument("--seconds", type=int, default=4)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--access-log", action="store_true", help="keep gunicorn's access log on (LOG_LEVEL=INFO)")
    parser.add_argument("--no-redis", action="store_true", help="serve without Redis (each process caches alone)")
    parser.add_argument(
        "--prebuilt", action="store_true", help="BENCH_DATABASE_URL already holds the data: skip migrate and the build"
    )
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
        "LOG_LEVEL": "INFO" if args.access_log else "WARNING",
    }
    env.pop("REDIS_URL", None)  # the data is built without Celery; the site is served with Redis below

    def manage(*cmd):
        return subprocess.run(
            [sys.executable, "manage.py", *cmd], cwd=ROOT, env=env, check=True, capture_output=True, text=True
        ).stdout

    if not (args.prebuilt and "BENCH_DATABASE_URL" in os.environ):
        manage("migrate", "--noinput")
        manage("compiletranslations")
        manage("collectstatic", "--noinput")
        build = f"import bench.scale as s; print('applications:', s.build({args.per_state})); s.compose_and_publish()"
        print(manage("shell", "-c", build).strip().splitlines()[-1])
    rows = []
    try:
        with redis() as redis_url:
            if redis_url and not args.no_redis:
                env["REDIS_URL"] = redis_url
            ours = [pid for pid in (getattr(redis_url, "pid", None),) if pid and not args.no_redis]
            print(
                f"serving with {'Redis' if 'REDIS_URL' in env else 'no Redis (each process caches alone)'}, "
                f"access log {'on' if args.access_log else 'off'}, {args.rounds} rounds of {args.seconds} s per page and number of connections"
            )
            with (
                gunicorn(env, ROOT) as base,
                gunicorn(env, ROOT, app="bench.bare.wsgi") as bare,
                nginx_cache(base.removeprefix("http://"), ROOT) as cached,
            ):
                ours += [base.pid, bare.pid] + ([cached.pid] if cached else [])
                targets_ = {BARE: (bare + "/", ())}
                targets_.update({name: (base + path, ()) for name, path in PAGES.items()})
                targets_[GZIP] = (base + PAGES[GZIP], ("Accept-Encoding: gzip",))
                if cached:
                    targets_.update({name: (cached + path, ()) for name, path in NGINX_PAGES.items()})
                for url, headers in targets_.values():  # every page in the caches, every worker warm
                    for _ in range(4):
                        subprocess.run(
                            ["curl", "-s", "-o", "/dev/null", *sum((["-H", h] for h in headers), []), url], check=False
                        )
                before, seen = workers(base.pid), set()
                for connections in (16, 1):
                    samples = {name: [] for name in targets_}
                    for _ in range(args.rounds):
                        for name, (url, headers) in targets_.items():
                            samples[name].append(wrk(url, connections, args.seconds, ours, headers))
                            seen |= set(workers(base.pid))
                    for name, runs in samples.items():
                        row = summarise(name, connections, runs, samples[BARE], samples["/healthz"])
                        rows.append(row)
                        print(
                            f"c={connections:<2} {name:18} {row['rps']:7.0f} req/s  bare {row['ratio_bare']:.2f}  /healthz {row['ratio_healthz']:.2f}"
                            f"  p50 {row['p50_ms']:.1f} ms  p99 {row['p99_ms']:.1f} ms  errors {row['errors']}"
                            f"  others {row['others']:.0%}{'  NOISY' if row['noisy'] else ''}"
                        )
                after = workers(base.pid)
                print(
                    f"the site's workers: {len(seen | set(before))} served the runs, {len(before)} at a time (more would mean"
                    f" some were replaced); memory {' + '.join(map(str, before.values()))} MiB after warming,"
                    f" {' + '.join(map(str, after.values()))} MiB at the end"
                )
    finally:
        shutil.rmtree(work, ignore_errors=True)
    if rows:
        print(noise(rows))
    for line in targets(rows):
        print(line)
    return rows


if __name__ == "__main__":
    main()
