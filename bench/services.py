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


class Served(str):
    """A server's base URL, which also knows the server's process id (`pid`)."""

    pid: int | None


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
        url = Served(os.environ["REDIS_URL"])
        url.pid = None  # someone else's server
        yield url
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
        url = Served(f"redis://127.0.0.1:{port}/0")
        url.pid = server.pid
        yield url
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
def gunicorn(env: dict, root, port: int | None = None, workers: int = 2, app: str = "config.wsgi"):
    """
    Serve the project (or `app`) with gunicorn and gunicorn.conf.py on loopback; yield its base URL
    (a Served, with the master's pid) once /healthz answers. The access log follows the environment
    (GUNICORN_ACCESSLOG, LOG_LEVEL), as in production; the benchmarks set LOG_LEVEL=WARNING.
    """
    port = port or free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", app, "-c", "gunicorn.conf.py", "--workers", str(workers)]
        + ["--bind", f"127.0.0.1:{port}"],
        cwd=root,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = Served(f"http://127.0.0.1:{port}")
    base.pid = server.pid
    try:
        wait_for(base + "/healthz")
        yield base
    finally:
        server.terminate()
        server.wait(10)


NGINX = shutil.which("nginx") or "/usr/sbin/nginx"


@contextlib.contextmanager
def nginx_cache(upstream: str, root):
    """
    nginx (Debian's package) on loopback in front of `upstream` (host:port), with deploy/nginx/'s
    files and the optional page cache (presessions-cache*.conf) as deploy/README.md installs them;
    yield its base URL (a Served, with the master's pid), or None when nginx is not installed.
    """
    if not os.path.exists(NGINX):
        yield None
        return
    folder = tempfile.mkdtemp(prefix="presessions-nginx-")
    os.chmod(folder, 0o777)
    deploy = os.path.join(str(root), "deploy", "nginx")

    def filled(name):
        with open(os.path.join(deploy, name)) as source:
            text = source.read()
        return text.replace("${UPSTREAM}", upstream).replace("${STATIC_ROOT}", os.path.join(str(root), "static"))

    os.makedirs(os.path.join(folder, "snippets"))
    os.makedirs(os.path.join(folder, "cache"))
    os.makedirs(os.path.join(folder, "temp"))
    for sub in ("cache", "temp"):
        os.chmod(os.path.join(folder, sub), 0o777)
    for name in ("presessions-proxy.conf", "presessions-cache.conf"):
        with open(os.path.join(folder, "snippets", name), "w") as target:
            target.write(filled(name))
    port = free_port()
    http_part = filled("presessions-http.conf") + filled("presessions-cache-http.conf").replace(
        "/var/cache/nginx/presessions", os.path.join(folder, "cache")
    )
    conf = os.path.join(folder, "nginx.conf")
    with open(conf, "w") as target:
        target.write(
            f"daemon off;\npid {folder}/nginx.pid;\nerror_log {folder}/error.log warn;\n"
            + ("user root;\n" if os.geteuid() == 0 else "")
            + "worker_processes 1;\nevents { worker_connections 1024; }\nhttp {\n  include /etc/nginx/mime.types;\n"
            + "".join(
                f"  {kind}_temp_path {folder}/temp/{kind};\n" for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
            )
            + http_part
            + f"server {{\n  listen 127.0.0.1:{port};\n  access_log off;\n  include {folder}/snippets/presessions-proxy.conf;\n}}\n}}\n"
        )
    server = subprocess.Popen([NGINX, "-c", conf, "-p", folder], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    base = Served(f"http://127.0.0.1:{port}")
    base.pid = server.pid
    try:
        wait_for(base + "/healthz")
        yield base
    finally:
        server.terminate()
        server.wait(10)
        shutil.rmtree(folder, ignore_errors=True)


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
