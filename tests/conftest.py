import os
import socket
from urllib.parse import urlparse

import pytest

from presessions.celery import app as celery_app

# Lines for the end of the run ("security" section): sizes of generated matrices and the like.
REPORT: list[str] = []


def pytest_terminal_summary(terminalreporter):
    if REPORT:
        terminalreporter.section("security")
        for line in REPORT:
            terminalreporter.write_line(line)


def service_unavailable(reason: str):
    """Skip a test whose service is missing; under REQUIRE_SERVICES=1 (CI), fail it instead."""
    if os.environ.get("REQUIRE_SERVICES") == "1":
        pytest.fail(f"required service unavailable: {reason}", pytrace=False)
    pytest.skip(reason)


def port_open(url: str) -> bool:
    parsed = urlparse(url)
    try:
        with socket.create_connection((parsed.hostname or "127.0.0.1", parsed.port or 6379), timeout=1):
            return True
    except OSError:
        return False


@pytest.fixture(autouse=True)
def _eager_celery():
    """Run tasks in-process unless a test asks for a real worker."""
    previous = celery_app.conf.task_always_eager
    celery_app.conf.task_always_eager = True
    yield
    celery_app.conf.task_always_eager = previous


@pytest.fixture(autouse=True)
def _english(settings):
    settings.LANGUAGE_CODE = "en"
    from django.utils import translation

    with translation.override("en"):
        yield


@pytest.fixture
def redis_url():
    url = os.environ.get("REDIS_URL", "")
    if not url:
        service_unavailable("REDIS_URL is not set, so there is no Redis to run a Celery worker against")
    if not port_open(url):
        service_unavailable(f"Redis at {url} does not answer")
    return url


@pytest.fixture(autouse=True)
def _plain_static_storage(settings):
    """Serve static files without the manifest, so tests need no collectstatic."""
    settings.STORAGES = {**settings.STORAGES, "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"}}


def pytest_report_header(config):
    from django.conf import settings

    database = settings.DATABASES["default"]
    broker = celery_app.conf.broker_url if os.environ.get("REDIS_URL") else "none (tasks run eagerly)"
    return [
        f"database: {database['ENGINE'].rsplit('.', 1)[-1]} ({database['NAME']})",
        f"celery broker for worker tests: {broker}",
        f"REQUIRE_SERVICES={os.environ.get('REQUIRE_SERVICES', '0')}",
    ]


@pytest.fixture(autouse=True)
def _empty_cache():
    """Start every test with an empty cache, so rate limits do not carry over between tests."""
    from django.core.cache import cache

    from presessions.caching import clear_local

    cache.clear()
    clear_local()
    yield


@pytest.fixture
def admin_client(db, admin_user):
    """pytest-django's admin client (a client of its own), signed in with a verified second factor."""
    from django.test import Client

    from tests.factories import login_staff

    return login_staff(Client(), admin_user)
