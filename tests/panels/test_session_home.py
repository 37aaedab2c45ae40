"""Issue 18: one staff home per session, linked from the admin's index, each stage with its count of things to do."""

import re

import pytest

from panels import attendance
from tests.factories import login_staff
from tests.panels.test_mission_attendance import week  # noqa: F401 -- a fixture

pytestmark = pytest.mark.django_db


def stages(html: str) -> dict[str, tuple[str, str]]:
    rows = re.findall(r'<th scope="row"><a href="[^"]+">([^<]+)</a></th><td>([^<]*)</td><td>(?:<strong>)?([^<]+)', html)
    return {title: (summary, to_do) for title, summary, to_do in rows}


def test_the_session_home_counts_what_is_left_to_do(client, cast, week):  # noqa: F811
    attendance.confirm(
        attendance.register(week["session"], mission="FR", email="d@example.org", language="en", choices={week["ke"].pk: 1})
    )
    login_staff(client, cast.coordinator)
    index = client.get("/admin/").content.decode()
    assert 'href="/staff/sessions/60/"' in index
    page = client.get("/staff/sessions/60/")
    assert page.status_code == 200
    found = stages(page.content.decode())
    assert found["Panels"] == ("2 of 2 finalised; 0 replacements to approve", "–")
    assert found["Speakers"][0].startswith("6 of 6 confirmed")
    assert found["Schedule"] == ("Published: v1", "–")
    assert found["Missions in the room"][0] == "1 announced, 0 came"
    for title, (summary, to_do) in found.items():
        assert summary and to_do, title


def test_an_assessor_has_no_session_home(client, cast, week):  # noqa: F811
    login_staff(client, cast.alice)
    assert client.get("/staff/sessions/60/").status_code == 403
    assert 'href="/staff/sessions/60/"' not in client.get("/admin/").content.decode()
