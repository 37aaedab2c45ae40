"""
Issue 18, the record: per session, per cycle and overall, for staff (with a CSV for donor reports)
and the public (counts only). The figures survive the purge of personal data.
"""

import csv
import datetime as dt
import io

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from applications import privacy
from applications.models import Application
from panels import attendance, record
from tests.factories import login_staff
from tests.panels.test_mission_attendance import meet_today, on_the_day, week  # noqa: F401 -- a fixture

pytestmark = pytest.mark.django_db


def read_csv(response) -> list[dict]:
    return list(csv.DictReader(io.StringIO(response.content.decode())))


def test_the_csv_counts_the_applications_the_speakers_and_the_missions_that_came(client, cast, week):  # noqa: F811
    ke, tr = week["ke"], week["tr"]
    attendance.check_in(ke, mission="FR", delegates=2, now=on_the_day(ke))
    attendance.check_in(ke, mission="BR", delegates=1, now=on_the_day(ke))
    attendance.check_in(tr, mission="FR", delegates=1, now=on_the_day(tr))
    login_staff(client, cast.coordinator)

    page = client.get("/staff/record/")
    assert page.status_code == 200 and "<svg" in page.content.decode()
    [row] = [r for r in read_csv(client.get("/staff/record/session.csv")) if r["Session"] == "60"]
    assert int(row["Applications"]) == Application.objects.filter(review__session__number=60).exclude(status="draft").count()
    assert int(row["Confirmed speakers"]) == 6 and int(row["Women speakers"]) + int(row["Men speakers"]) == 6
    assert (row["Meetings with missions recorded"], row["Missions at meetings"], row["Different missions"]) == ("2", "3", "2")
    assert row["Delegates"] == "4" and row["Missions per meeting"] == "1.5"
    [overall] = read_csv(client.get("/staff/record/overall.csv"))
    assert overall["Missions at meetings"] == "3"
    assert client.get("/staff/record/nonsense.csv").status_code == 404


def test_the_public_page_shows_the_counts_and_names_nobody(client, week):  # noqa: F811
    attendance.check_in(week["ke"], mission="FR", delegates=2, now=on_the_day(week["ke"]))
    page = client.get("/in-figures/").content.decode()
    assert "Confirmed speakers" in page and 'role="img"' in page
    for application in Application.objects.select_related("organisation"):
        assert application.organisation.name not in page and application.speaker_name not in page
    assert "France" not in page


def test_the_figures_survive_the_purge(week):  # noqa: F811
    attendance.check_in(week["ke"], mission="FR", delegates=2, now=on_the_day(week["ke"]))
    before = [row.values() for row in record.figures("session")] + [record.figures(None)[0].values()]
    end = privacy.presession_end(week["session"])
    privacy.purge(now=timezone.make_aware(dt.datetime.combine(end + dt.timedelta(days=800), dt.time(12))))
    assert Application.objects.filter(erased_at__isnull=True).count() == 0  # the check below can fail
    after = [row.values() for row in record.figures("session")] + [record.figures(None)[0].values()]
    assert after == before


def test_the_record_costs_the_same_queries_whatever_the_number_of_sessions(client, cast, week):  # noqa: F811
    from tests.factories import make_application, make_session

    login_staff(client, cast.coordinator)

    def count() -> int:
        with CaptureQueriesContext(connection) as queries:
            assert client.get("/staff/record/").status_code == 200
        return len(queries)

    few = count()
    for number in (61, 62, 63):
        session = make_session(number=number, start=dt.date(2027 + number - 60, 5, 3), states=("KE",))
        make_application(session.reviews.get(), name=f"Forum {number}")
    assert count() == few


def test_the_state_s_statement_recorded_at_the_door_is_counted(client, cast, week):  # noqa: F811
    login_staff(client, cast.coordinator)
    ke, tr = week["ke"], week["tr"]
    meet_today(ke, tr)
    client.post(f"/staff/meetings/{ke.pk}/check-in/", {"action": "statement-yes"})
    client.post(f"/staff/meetings/{tr.pk}/check-in/", {"action": "statement-yes"})
    client.post(f"/staff/meetings/{tr.pk}/check-in/", {"action": "statement-no"})  # corrected
    assert "Recorded: it did not take its statement." in client.get(f"/staff/meetings/{tr.pk}/check-in/").content.decode()
    [row] = [r for r in read_csv(client.get("/staff/record/session.csv")) if r["Session"] == "60"]
    assert row["Meetings where the State under Review took its statement"] == "1"
    assert row["Meetings where this was recorded"] == "2"


def test_a_selection_counts_only_once_the_applicant_is_told(week):  # noqa: F811
    from outbox.models import Email

    [before] = [row for row in record.figures("session") if row.key == 60]
    assert before.selected == 6
    Email.objects.filter(kind="decision-selected").update(status="draft")  # as if the decisions were still drafts
    [after] = [row for row in record.figures("session") if row.key == 60]
    assert after.selected == 0 and after.themes == 0


def test_an_erasure_after_the_week_leaves_the_record_as_it_was(week):  # noqa: F811
    from applications.models import Application
    from panels.models import PanelMember

    member = PanelMember.objects.filter(panel__review=week["ke"], role="speaker", confirmed_at__isnull=False).first()
    before = [row.values() for row in record.figures("session")]
    end = privacy.presession_end(week["session"])
    privacy.erase_own_application(
        member.application, now=timezone.make_aware(dt.datetime.combine(end + dt.timedelta(days=3), dt.time(12)))
    )
    member.refresh_from_db()
    assert member.declined_at is None and Application.objects.get(pk=member.application_id).erased_at
    assert [row.values() for row in record.figures("session")] == before


@pytest.mark.parametrize(("language", "heading"), [("fr", "Sélectionnés"), ("es", "Seleccionados")])
def test_the_public_figures_speak_french_and_spanish(client, week, language, heading):  # noqa: F811
    client.cookies["django_language"] = language
    page = client.get("/in-figures/", headers={"accept-language": language}).content.decode()
    assert f'lang="{language}"' in page and heading in page
