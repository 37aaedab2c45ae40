import datetime as dt
import os
import socket
from urllib.parse import urlparse

import pytest
from aiosmtpd.controller import Controller
from django.utils import timezone

import tests.profiles  # noqa: F401 -- loads the Hypothesis profile (few examples locally, all in CI)
from config.celery import app as celery_app
from presessions.importers import load_themes
from tests.factories import make_open_call, make_session

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
def _no_demo_past_session(settings):
    """load_demo without the past session (the slow part); tests/panels/test_demo_past_session.py turns it on."""
    settings.DEMO_PAST_SESSION = False


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


# Shared fixtures: an open session with themes, two States, staff of every role, an SMTP sink.
@pytest.fixture
def themes(db):
    load_themes()


@pytest.fixture
def open_session(db, themes):
    monday = timezone.localdate() + dt.timedelta(weeks=14)
    session = make_session(number=60, start=monday - dt.timedelta(days=monday.weekday()), states=("KE", "TR"))
    make_open_call(session)
    return session


@pytest.fixture
def kenya(open_session):
    return open_session.reviews.get(country="KE")


class Sink:
    """An SMTP server that keeps every message it receives."""

    def __init__(self):
        self.messages = []
        self.connections = 0

    async def handle_EHLO(self, server, session, envelope, hostname, responses):
        self.connections += 1
        session.host_name = hostname
        return responses

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address.startswith("refused@"):
            return "550 No such mailbox"  # a recipient the server refuses, for tests of failures
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        self.messages.append(envelope)
        return "250 Message accepted"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def smtp_sink(settings):
    """A real SMTP server on loopback (aiosmtpd), with Django's SMTP backend pointed at it."""
    sink = Sink()
    controller = Controller(sink, hostname="127.0.0.1", port=_free_port())
    controller.start()
    sink.controller = controller
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", controller.port
    settings.EMAIL_USE_TLS = settings.EMAIL_USE_SSL = False
    settings.EMAIL_HOST_USER = settings.EMAIL_HOST_PASSWORD = ""
    settings.EMAIL_TIMEOUT = 5
    yield sink
    if controller._thread is not None:  # a test may have stopped it already
        controller.stop()


@pytest.fixture
def turkiye(open_session):
    return open_session.reviews.get(country="TR")


@pytest.fixture
def cast(db, kenya, turkiye):
    """Coordinator, an assessor of Kenya (alice) and an assessor of Türkiye (bob)."""
    from types import SimpleNamespace

    from django.contrib.auth import get_user_model
    from django.contrib.auth.models import Group

    from applications.models import AssessorAssignment

    user_model = get_user_model()

    def staff(username, group):
        user = user_model.objects.create_user(username, password="pw", is_staff=True)
        user.groups.add(Group.objects.get(name=group))
        return user

    alice, bob = staff("alice", "Assessor"), staff("bob", "Assessor")
    AssessorAssignment.objects.create(assessor=alice, review=kenya)
    AssessorAssignment.objects.create(assessor=bob, review=turkiye)
    return SimpleNamespace(coordinator=staff("carla", "Coordinator"), alice=alice, bob=bob)
