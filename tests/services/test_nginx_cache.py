"""
Issue 20: the optional page cache in nginx (deploy/nginx/presessions-cache*.conf), through a real
nginx (Debian's package) in front of gunicorn: public pages are kept per language and encoding and
served by nginx; the application form, staff pages, private links, a signed-in visitor, a message
waiting and a query string never are. Without the two optional files nothing is cached.
"""

import http.client
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import service_unavailable
from tests.faults.stack import NGINX, ROOT, _port_open, deploy_nginx_files, nginx_main_conf, wait_for


def _get(port: int, path: str, headers: dict | None = None) -> tuple[int, dict, bytes]:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        connection.request("GET", path, headers={"Host": "127.0.0.1", **(headers or {})})
        response = connection.getresponse()
        return response.status, {k.lower(): v for k, v in response.getheaders()}, response.read()
    finally:
        connection.close()


@pytest.fixture(scope="module")
def cached(tmp_path_factory):
    if not Path(NGINX).exists():
        service_unavailable("nginx is not installed")
    from bench.services import free_port

    folder = tmp_path_factory.mktemp("nginx-cache")
    folder.chmod(0o777)
    web_port, cached_port, plain_port = free_port(), free_port(), free_port()
    env = {
        **{k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL")},
        "DATABASE_URL": f"sqlite:///{folder / 'db.sqlite3'}",
        "DEBUG": "0",
        "SECRET_KEY": "nginx-cache-" + "q8" * 30,
        "ALLOWED_HOSTS": "127.0.0.1",
        "SECURE_SSL_REDIRECT": "0",
        "COOKIES_SECURE": "0",
        "STATICFILES_BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage",
        "EMAIL_BACKEND": "django.core.mail.backends.locmem.EmailBackend",
        "TRUSTED_PROXIES": "127.0.0.1",
    }
    run = {"cwd": ROOT, "env": env, "check": True, "capture_output": True, "text": True}
    subprocess.run([sys.executable, "manage.py", "migrate", "--noinput"], **run)
    subprocess.run([sys.executable, "manage.py", "load_calendar"], **run)
    subprocess.run([sys.executable, "manage.py", "compiletranslations"], **run)
    number = subprocess.run(
        [
            sys.executable,
            "manage.py",
            "shell",
            "-c",
            "from presessions.models import Session; print(Session.objects.order_by('-number').first().number)",
        ],
        **run,
    ).stdout.split()[-1]
    web = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "config.wsgi", "-c", "gunicorn.conf.py", "--workers", "1"]
        + ["--bind", f"127.0.0.1:{web_port}"],
        cwd=ROOT,
        env=env,
        stdout=open(folder / "web.log", "w"),
        stderr=subprocess.STDOUT,
    )
    filled = deploy_nginx_files(folder, {"UPSTREAM": f"127.0.0.1:{web_port}", "STATIC_ROOT": str(ROOT / "static")})
    (folder / "snippets" / "presessions-cache.conf").write_text(filled["presessions-cache.conf"])
    cache_dir = folder / "nginx-cache"
    cache_dir.mkdir()
    cache_dir.chmod(0o777)
    http_extra = filled["presessions-cache-http.conf"].replace("/var/cache/nginx/presessions", str(cache_dir))
    server = (
        f"server {{\n  listen 127.0.0.1:{cached_port};\n  access_log off;\n"
        f"  include {folder / 'snippets' / 'presessions-proxy.conf'};\n}}\n"
    )
    conf = nginx_main_conf(folder, server, http_extra=http_extra)
    proxy = subprocess.Popen([NGINX, "-c", str(conf), "-p", str(folder)], stderr=subprocess.STDOUT)
    # The same deploy files without the optional two: a second nginx, in its own folder.
    plain_folder = tmp_path_factory.mktemp("nginx-plain")
    plain_folder.chmod(0o777)
    deploy_nginx_files(plain_folder, {"UPSTREAM": f"127.0.0.1:{web_port}", "STATIC_ROOT": str(ROOT / "static")})
    plain_server = (
        f"server {{\n  listen 127.0.0.1:{plain_port};\n  access_log off;\n"
        f"  include {plain_folder / 'snippets' / 'presessions-proxy.conf'};\n}}\n"
    )
    plain = subprocess.Popen(
        [NGINX, "-c", str(nginx_main_conf(plain_folder, plain_server)), "-p", str(plain_folder)], stderr=subprocess.STDOUT
    )
    try:
        wait_for(lambda: all(_port_open(p) for p in (web_port, cached_port, plain_port)), 30, "gunicorn and nginx")
        yield {"port": cached_port, "plain": plain_port, "number": number}
    finally:
        for process in (proxy, plain, web):
            process.terminate()
        for process in (proxy, plain, web):
            process.wait(10)


def _twice(port, path, headers=None):
    first = _get(port, path, headers)
    second = _get(port, path, headers)
    return first, second


def test_public_pages_are_kept_per_language_and_encoding(cached):
    port, number = cached["port"], cached["number"]
    for path in ("/", "/calendar/", f"/sessions/{number}/", "/faq/"):
        first, second = _twice(port, path)
        assert first[0] == second[0] == 200, path
        assert second[1].get("x-cache-status") == "HIT", (path, second[1].get("x-cache-status"))
        assert second[2] == first[2]
        assert second[1]["x-content-type-options"] == "nosniff" and "content-security-policy" in second[1]
    pages = {}
    for language in ("en", "fr", "es"):
        _first, second = _twice(port, "/calendar/", {"Cookie": f"django_language={language}"})
        assert second[1].get("x-cache-status") == "HIT" and second[1]["content-language"] == language
        assert f'lang="{language}"'.encode() in second[2]
        pages[language] = second[2]
    assert len(set(pages.values())) == 3
    _first, spanish = _twice(port, "/calendar/", {"Accept-Language": "es"})
    assert spanish[1]["content-language"] == "es" and spanish[2] == pages["es"]
    _first, zipped = _twice(port, "/calendar/", {"Accept-Encoding": "gzip"})
    assert zipped[1].get("x-cache-status") == "HIT" and zipped[1].get("content-encoding") == "gzip"
    assert "content-encoding" not in _get(port, "/calendar/")[1]


def test_private_and_staff_pages_are_never_kept(cached):
    port, number = cached["port"], cached["number"]
    for path in (
        f"/sessions/{number}/apply/",
        "/admin/login/",
        "/account/login/",
        "/applications/AbCdEfGhIjKl:MnOpQrStUvWx/edit/",
    ):
        for response in _twice(port, path):
            assert response[1].get("x-cache-status") != "HIT", path
    for headers in ({"Cookie": "sessionid=abc"}, {"Cookie": "messages=abc"}):
        for response in _twice(port, "/calendar/", headers):
            assert response[1].get("x-cache-status") == "BYPASS", headers
    for response in _twice(port, "/calendar/?lang=fr"):
        assert response[1].get("x-cache-status") == "BYPASS"
    form = _twice(port, f"/sessions/{number}/apply/")
    assert "private" in form[1][1].get("cache-control", "")


def test_without_the_optional_files_nothing_is_cached(cached):
    for response in _twice(cached["plain"], "/calendar/"):
        assert response[0] == 200 and "x-cache-status" not in response[1]
