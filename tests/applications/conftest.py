import datetime as dt
import socket

import pytest
from aiosmtpd.controller import Controller
from django.utils import timezone

from presessions.importers import load_themes
from tests.factories import make_open_call, make_session


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
    """Coordinator, a reviewer of Kenya (alice) and a reviewer of Türkiye (bob)."""
    from types import SimpleNamespace

    from django.contrib.auth import get_user_model
    from django.contrib.auth.models import Group

    from applications.models import ReviewerAssignment

    user_model = get_user_model()

    def staff(username, group):
        user = user_model.objects.create_user(username, password="pw", is_staff=True)
        user.groups.add(Group.objects.get(name=group))
        return user

    alice, bob = staff("alice", "Reviewer"), staff("bob", "Reviewer")
    ReviewerAssignment.objects.create(reviewer=alice, review=kenya)
    ReviewerAssignment.objects.create(reviewer=bob, review=turkiye)
    return SimpleNamespace(coordinator=staff("carla", "Coordinator"), alice=alice, bob=bob)
