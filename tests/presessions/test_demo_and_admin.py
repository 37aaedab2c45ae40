import datetime as dt

import pytest
from django.core.management import call_command
from django.utils import timezone

from presessions.demo import load_demo
from presessions.models import Call, CouncilSession, Session
from tests.factories import sign_in

pytestmark = pytest.mark.django_db


def test_load_demo_opens_a_call_for_the_next_session_and_prints_a_working_login(client):
    now = timezone.make_aware(dt.datetime(2026, 11, 29, 10, 0))
    result = load_demo(now=now)
    calls = {call.session.number: call for call in Call.objects.select_related("session")}
    assert sorted(calls) == [46, 54]  # the real, closed call of series 46, and the demo's call
    call = calls[54]
    assert call.state(now) == "open"
    assert call.session.start_date > now.date()
    assert call.session.calendar_status == "inferred"
    assert sign_in(client, result["username"], result["password"]).status_code == 302
    assert client.get("/admin/").status_code == 200


def test_load_demo_twice_keeps_one_call_and_the_new_password_works(client):
    load_demo()
    result = load_demo()
    assert Call.objects.exclude(session__number=46).count() == 1
    assert Session.objects.count() == 14
    assert sign_in(client, "coordinator", result["password"]).status_code == 302
    assert client.get("/admin/").status_code == 200


def test_load_demo_command_prints_the_credentials(capsys):
    call_command("load_demo", "--even-with-debug-off")  # pytest-django runs with DEBUG off
    out = capsys.readouterr().out
    assert "username: coordinator" in out and "password: " in out


@pytest.mark.parametrize(
    "url",
    [
        "/admin/presessions/session/",
        "/admin/presessions/session/?q=Kenya",
        "/admin/presessions/statereview/?q=Kenya",
        "/admin/presessions/statereview/?status__exact=non_cooperation",
        "/admin/presessions/call/",
        "/admin/presessions/cycle/",
        "/admin/presessions/councilsession/",
        "/admin/presessions/theme/?q=rights",
        "/admin/django_celery_beat/periodictask/",
    ],
)
def test_admin_pages_work_for_staff(admin_client, url):
    load_demo()
    response = admin_client.get(url)
    assert response.status_code == 200


def test_session_change_page_shows_the_timeline_in_force(admin_client):
    load_demo()
    session = Session.objects.get(number=54)
    body = admin_client.get(f"/admin/presessions/session/{session.pk}/change/").content.decode()
    assert "Timeline in force" in body
    assert "Pre-sessions in Geneva" in body


def test_staff_edit_next_years_council_session_and_the_timeline_follows(admin_client):
    load_demo()
    council = CouncilSession.objects.get(number=58)
    assert Session.objects.get(number=49).timeline.presessions_start == dt.date(2025, 2, 11)
    response = admin_client.post(
        f"/admin/presessions/councilsession/{council.pk}/change/",
        {"number": "58", "start_date": "2025-03-10", "end_date": "2025-04-04", "sources": ""},
    )
    assert response.status_code == 302
    # 4-7 March now falls in the week before the Council opens: the Pre-sessions move to 25-28 February.
    assert Session.objects.get(number=49).timeline.presessions_start == dt.date(2025, 2, 25)


def test_admin_search_by_country_name_finds_the_review(admin_client):
    load_demo()
    response = admin_client.get("/admin/presessions/statereview/?q=Kenya")
    assert response.context["cl"].result_count == 1


def test_admin_requires_staff(client):
    response = client.get("/admin/presessions/session/")
    assert response.status_code == 302
    assert "/admin/login/" in response["Location"]
    assert client.get(response["Location"])["Location"] == "/account/login/?next=/admin/presessions/session/"


def test_the_demo_is_refused_with_debug_off_unless_asked_for(settings):
    from django.core.management.base import CommandError

    from presessions.models import Session

    settings.DEBUG = False
    with pytest.raises(CommandError, match="even-with-debug-off"):
        call_command("load_demo")
    assert not Session.objects.exists()
    call_command("load_demo", "--even-with-debug-off", stdout=open("/dev/null", "w"))
    assert Session.objects.exists()
