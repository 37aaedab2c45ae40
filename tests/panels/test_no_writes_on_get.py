"""Issue 14: reading a page writes nothing, and the public pages refresh only once a change commits."""

import pytest
from django.db import connection, transaction

from panels import domain
from panels.models import PanelRules, ScheduleDay
from presessions import caching
from presessions.models import Theme
from tests.factories import login_staff, make_application

pytestmark = pytest.mark.django_db

WRITES = ("INSERT", "UPDATE", "DELETE")


class WriteDetector:
    def __init__(self):
        self.writes = []

    def __call__(self, execute, sql, params, many, context):
        statement = sql.lstrip().upper()
        # The session row and the second-factor bookkeeping are the request's own, not the page's.
        if statement.startswith(WRITES) and "DJANGO_SESSION" not in statement and "OTP_" not in statement:
            self.writes.append(sql)
        return execute(sql, params, many, context)


def test_staff_and_public_panel_pages_write_nothing_on_get(client, cast, kenya, open_session):
    for i in range(4):
        make_application(kenya, name=f"Org {i}", gender="woman" if i % 2 else "man")
    domain.compose_panel(kenya)
    PanelRules.objects.filter(session=open_session).delete()
    login_staff(client, cast.coordinator)
    client.get("/admin/")  # the session is written once, on the first request
    detector = WriteDetector()
    with connection.execute_wrapper(detector):
        for url in (
            f"/staff/sessions/{open_session.number}/panels/",
            f"/staff/sessions/{open_session.number}/schedule/",
            f"/staff/panels/{kenya.pk}/",
            f"/sessions/{open_session.number}/schedule/",
            f"/sessions/{open_session.number}/",
        ):
            assert client.get(url).status_code in (200, 404), url
    assert detector.writes == []
    assert not PanelRules.objects.exists() and not ScheduleDay.objects.exists()


def test_public_pages_are_refreshed_once_the_change_commits(kenya, django_capture_on_commit_callbacks):
    before = caching.data_version()
    theme = Theme.objects.order_by("pk").first()
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        with transaction.atomic():
            theme.label = "A new label"
            theme.save()
        # Not yet committed: another process must not see a new version before it can see the new data.
        now = caching.data_version()
        assert now == before
    assert callbacks, "the refresh waits for the commit"
    for callback in callbacks:
        callback()
    after = caching.data_version()
    assert after != before
