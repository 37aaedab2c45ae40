"""Throwaway PostgreSQL and Redis servers on loopback for the benchmarks (Debian's packages), and a few helpers."""

import contextlib
import glob
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request

# The memory policy the README asks for: a bound, and evict only keys with a time to live (the
# cache's), never the Celery queues.
REDIS_POLICY = ["--maxmemory", "256mb", "--maxmemory-policy", "volatile-lru"]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextlib.contextmanager
def postgres():
    """Yield a DATABASE_URL for a fresh database in a temporary cluster; None when PostgreSQL is not installed."""
    if os.environ.get("DATABASE_URL", "").startswith("postgres"):
        yield os.environ["DATABASE_URL"]
        return
    bins = sorted(glob.glob("/usr/lib/postgresql/*/bin"))
    if not bins:
        yield None
        return
    binary, work, port = bins[-1], tempfile.mkdtemp(prefix="bench-pg-"), free_port()
    os.chmod(work, 0o755)
    data = os.path.join(work, "data")
    os.makedirs(data)
    as_postgres = ["su", "postgres", "-s", "/bin/sh", "-c"] if os.geteuid() == 0 else ["sh", "-c"]
    if os.geteuid() == 0:
        shutil.chown(data, "postgres")
    subprocess.run([*as_postgres, f"cd / && {binary}/initdb -D {data} -A trust -U postgres >/dev/null"], check=True)
    subprocess.run(
        [
            *as_postgres,
            f"cd / && {binary}/pg_ctl -D {data} -l {data}/log -w -o '-c listen_addresses=127.0.0.1 -p {port} -k {data} -c fsync=off' start >/dev/null",
        ],
        check=True,
    )
    subprocess.run([f"{binary}/createdb", "-h", "127.0.0.1", "-p", str(port), "-U", "postgres", "bench"], check=True)
    try:
        yield f"postgres://postgres@127.0.0.1:{port}/bench"
    finally:
        subprocess.run([*as_postgres, f"cd / && {binary}/pg_ctl -D {data} -m fast stop >/dev/null"], check=False)
        shutil.rmtree(work, ignore_errors=True)


@contextlib.contextmanager
def redis():
    """Yield a REDIS_URL for a throwaway server; None when redis-server is not installed."""
    if os.environ.get("REDIS_URL"):
        yield os.environ["REDIS_URL"]
        return
    if not shutil.which("redis-server"):
        yield None
        return
    port = free_port()
    server = subprocess.Popen(
        ["redis-server", "--bind", "127.0.0.1", "--port", str(port), "--save", "", "--appendonly", "no", *REDIS_POLICY],
        stdout=subprocess.DEVNULL,
    )
    try:
        for _ in range(50):
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=0.2):
                break
            time.sleep(0.1)
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        server.terminate()
        server.wait(10)


def wait_for(url: str, seconds: float = 30) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(url, timeout=1)
            return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"{url} did not answer")


@contextlib.contextmanager
def gunicorn(env: dict, root, port: int | None = None, workers: int = 2):
    """Serve the project with gunicorn on loopback; yield its base URL once /healthz answers."""
    port = port or free_port()
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "gunicorn",
            "config.wsgi",
            "-c",
            "gunicorn.conf.py",
            "--workers",
            str(workers),
            "--bind",
            f"127.0.0.1:{port}",
            "--access-logfile",
            "/dev/null",
        ],
        cwd=root,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        wait_for(base + "/healthz")
        yield base
    finally:
        server.terminate()
        server.wait(10)


# Which part of the stack a process belongs to, from its command line.
COMPONENTS = (
    ("gunicorn", "web (gunicorn)"),
    ("celery", "worker (celery)"),
    ("postgres", "PostgreSQL"),
    ("redis-server", "Redis"),
    ("smtp_sink", "SMTP sink"),
)


def cpu_seconds() -> dict[str, float]:
    """CPU time used so far (user + system, with reaped children) by each part of the stack, from /proc."""
    tick = os.sysconf("SC_CLK_TCK")
    totals: dict[str, float] = {}
    for stat in glob.glob("/proc/[0-9]*/stat"):
        pid = stat.split("/")[2]
        try:
            with open(stat) as f:
                fields = f.read().rsplit(")", 1)[1].split()
            with open(f"/proc/{pid}/cmdline", "rb") as f:
                cmdline = f.read().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        name = next((label for marker, label in COMPONENTS if marker in cmdline), None)
        if int(pid) == os.getpid():
            name = "load clients"
        if name:
            # utime, stime, cutime, cstime are fields 14-17 of stat; after the ")" they start at index 11.
            totals[name] = totals.get(name, 0.0) + sum(int(x) for x in fields[11:15]) / tick
    return totals


def cpu_used(before: dict[str, float], after: dict[str, float]) -> dict[str, float]:
    return {name: after.get(name, 0.0) - before.get(name, 0.0) for name in after}
