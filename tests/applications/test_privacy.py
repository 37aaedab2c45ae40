"""
Issue 17: privacy by design. The purge erases exactly what is past its period, everywhere it lives,
and keeps the counts; the applicant downloads and erases their own data through the private link;
the privacy notice is linked, versioned and recorded with each consent.
"""

import datetime as dt
import io
import json
import re

import pytest
from django.core import serializers
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.core.management import call_command
from django.test import Client
from django.utils import timezone

from applications import privacy
from applications.dashboard import session_stats
from applications.models import Application, Assessment, Organisation
from applications.tokens import make_token
from outbox.models import Email
from panels import domain as panels_domain
from panels import publishing
from panels.models import PanelMember, ScheduleRelease
from presessions.demo import load_demo
from presessions.models import PrivacyNotice
from tests.factories import PDF_BYTES, application_post, finalise, make_application, send_decisions

pytestmark = pytest.mark.django_db


@pytest.fixture
def uploads(settings, tmp_path):
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {"BACKEND": "django.core.files.storage.FileSystemStorage", "OPTIONS": {"location": tmp_path / "private"}},
    }
    return tmp_path / "private"


def full_dump() -> str:
    """Every row of every table (audit history, outbox, admin log included), as one text."""
    from django.apps import apps

    out = io.StringIO()
    for model in apps.get_models(include_auto_created=True):
        out.write(serializers.serialize("json", model._base_manager.all()))
    return out.getvalue().lower()


def stats_figures(session) -> dict:
    stats = session_stats(session)
    return {
        "total": stats["total"],
        "shares": [(s.label, [(p.label, p.count) for p in s.parts]) for s in stats["shares"]],
        "per_state": [(r.pk, r.applications_count, r.eligible_count, r.assessed_count, r.themes) for r in stats["per_state"]],
        "progress": repr(stats["progress"]),
    }


def personal_values(applications) -> set[str]:
    values = set()
    for a in applications:
        values |= {a.email, a.speaker_name, a.speaker_email, a.speaker_phone, a.accessibility_needs, a.report_file.name}
        values |= {a.statement_summary[:60]} if a.statement_summary else set()
    return {v.lower() for v in values if v}


def test_purge_two_years_after_the_demo_session_leaves_no_trace_of_unselected_applicants_and_the_same_counts(
    uploads, django_capture_on_commit_callbacks
):
    session = load_demo(seed=7)["session"]
    applications = list(Application.objects.filter(review__session=session).select_related("organisation"))
    assert applications and not any(a.status == "selected" for a in applications)  # the demo decides nothing
    for index, application in enumerate(applications[:5]):
        application.speaker_phone = f"+41 22 555 01 {index:02d}"
        application.accessibility_needs = f"Step-free access please, ref {index} QWERTY"
        application.report_file.save("report.pdf", ContentFile(PDF_BYTES))
        application.save()  # and a history row holding all of it
    files = [a.report_file.name for a in applications[:5]]
    from django.contrib.admin.models import CHANGE, LogEntry
    from django.contrib.auth import get_user_model

    LogEntry.objects.log_actions(
        get_user_model().objects.first().pk, [applications[0]], CHANGE, change_message="Changed screening."
    )
    assert all(default_storage.exists(name) for name in files)
    secrets = personal_values(applications) | {o.name.lower() for o in Organisation.objects.all() if len(o.name) > 6}
    dump = full_dump()
    assert all(value in dump for value in secrets)  # the check below can fail
    before = stats_figures(session)

    end = privacy.presession_end(session)
    with django_capture_on_commit_callbacks(execute=True):
        call_command("purge", "--now", (end + dt.timedelta(days=731)).isoformat(), "--noinput", stdout=(out := io.StringIO()))

    assert re.search(r"Erased: [1-9]\d* unselected", out.getvalue()), out.getvalue()
    dump = full_dump()
    left = sorted(value for value in secrets if value in dump)
    assert left == []
    assert not any(default_storage.exists(name) for name in files)
    assert stats_figures(session) == before
    assert Application.objects.filter(review__session=session, erased_at__isnull=True).count() == 0


def test_the_dashboard_page_shows_the_same_counts_after_the_purge(uploads, client, settings):
    from tests.factories import login_staff

    session = load_demo(seed=3)["session"]
    from django.contrib.auth import get_user_model

    from presessions.demo import DEMO_USERNAME

    coordinator = get_user_model().objects.get(username=DEMO_USERNAME)
    login_staff(client, coordinator)
    url = f"/staff/sessions/{session.number}/dashboard/"
    before = client.get(url)
    assert before.status_code == 200
    end = privacy.presession_end(session)
    privacy.purge(now=timezone.make_aware(dt.datetime.combine(end + dt.timedelta(days=800), dt.time(12))))
    after = client.get(url)

    def numbers(html: bytes) -> list[str]:
        main = html.decode().split("<main", 1)[1]
        return re.findall(r">\s*(\d+)\s*<", main)

    assert numbers(after.content) == numbers(before.content) != []


def at(day: dt.date, days: int = 0) -> dt.datetime:
    return timezone.make_aware(dt.datetime.combine(day + dt.timedelta(days=days), dt.time(12)))


def test_each_kind_goes_exactly_when_its_period_ends(uploads, kenya, settings):
    session = kenya.session
    selected = make_application(kenya, name="Chosen Voice", status="selected")
    reserve = make_application(kenya, name="Reserve Voice", status="reserve")
    rejected = make_application(kenya, name="Other Voice", status="not_selected")
    withdrawn = make_application(kenya, name="Gone Voice", status="withdrawn")
    draft = make_application(kenya, name="Draft Voice", status="draft")
    for application in (selected, reserve, rejected, withdrawn, draft):
        application.report_file.save("r.pdf", ContentFile(PDF_BYTES))
        Email.objects.create(
            to=application.email,
            kind="x",
            subject="S",
            body_text="secret body",
            dedupe_key=f"k{application.pk}",
            related=application,
        )
    end = privacy.presession_end(session)
    closes = session.call.closes_at

    def live():
        return set(Application.objects.filter(erased_at__isnull=True).values_list("pk", flat=True))

    everyone = {selected.pk, reserve.pk, rejected.pk, withdrawn.pk, draft.pk}
    privacy.purge(now=closes + dt.timedelta(days=29))
    assert live() == everyone
    privacy.purge(now=closes + dt.timedelta(days=30, minutes=1))
    assert live() == everyone - {draft.pk}
    privacy.purge(now=at(end, 364))
    assert live() == everyone - {draft.pk}
    report = privacy.purge(now=at(end, 365), dry_run=True)
    assert report.counts["unselected"] == 3 and live() == everyone - {draft.pk}  # a dry run changes nothing
    privacy.purge(now=at(end, 365))
    assert live() == {selected.pk}
    privacy.purge(now=at(end, 729))
    assert live() == {selected.pk}
    privacy.purge(now=at(end, 730))
    assert live() == set()
    assert not Email.objects.filter(body_text="secret body").exists()
    for application in Application.objects.all():
        assert application.report_file.name == "" and application.email.endswith("@erased.invalid")
        assert application.history.exclude(email__endswith="@erased.invalid").count() == 0
        assert application.history.exclude(speaker_name="").count() == 0
    assert set(Organisation.objects.values_list("name", flat=True)) == {privacy.ERASED_NAME}


def test_the_outbox_forgets_recipients_and_bodies_after_its_period(kenya, settings):
    application = make_application(kenya, name="Mail Voice")
    old = Email.objects.create(to="old@example.org", kind="x", subject="Old", body_text="old body", dedupe_key="old")
    new = Email.objects.create(to="new@example.org", kind="x", subject="New", body_text="new body", dedupe_key="new")
    Email.objects.filter(pk=old.pk).update(created_at=timezone.now() - dt.timedelta(days=91))
    report = privacy.purge()
    assert report.counts["old_emails"] == 1
    old.refresh_from_db()
    new.refresh_from_db()
    assert (old.to, old.subject, old.body_text) == ("", "", "")
    assert (new.to, new.body_text) == ("new@example.org", "new body")
    assert Application.objects.get(pk=application.pk).erased_at is None


def test_what_an_admin_deletion_leaves_is_deleted_by_the_purge(uploads, kenya):
    application = make_application(kenya, name="File Voice")
    application.report_file.save("r.pdf", ContentFile(PDF_BYTES))
    name = application.report_file.name
    Email.objects.create(
        to=application.email, kind="x", subject="S", body_text="deleted body", dedupe_key="d", related=application
    )
    organisation = application.organisation
    application.delete()  # staff deleted it in the admin: the file, its history and its emails stayed
    organisation.delete()
    assert Application.history.filter(email=application.email).exists()
    fresh = default_storage.save("reports/just-uploaded.pdf", ContentFile(PDF_BYTES))
    import os

    old = timezone.now().timestamp() - 2 * 86400
    os.utime(uploads / name, (old, old))
    report = privacy.purge()
    assert report.counts["orphan_files"] == 1
    assert report.counts["deleted_leftovers"] >= 3
    assert "file voice" not in full_dump() and "deleted body" not in full_dump()
    assert not default_storage.exists(name) and default_storage.exists(fresh)


def test_the_purge_command_explains_a_bad_date_and_dry_runs():
    from django.core.management.base import CommandError

    with pytest.raises(CommandError, match="not a date"):
        call_command("purge", "--now", "next tuesday")
    out = io.StringIO()
    call_command("purge", "--dry-run", stdout=out)
    assert "nothing was changed" in out.getvalue() and "Would erase: 0" in out.getvalue()


# ---------------------------------------------------------------- the applicant's own controls


def apply(client, kenya, **overrides):
    response = client.post("/sessions/60/apply/", application_post(kenya, **overrides))
    assert response.status_code in (302, 303), response.content[:2000]
    return Application.objects.latest("pk")


@pytest.mark.parametrize("language", ["en", "fr", "es"])
def test_an_applicant_downloads_and_erases_their_data_before_the_decision(
    uploads, kenya, language, mailoutbox, django_capture_on_commit_callbacks
):
    client = Client(headers={"accept-language": language})
    client.cookies["django_language"] = language
    application = apply(client, kenya, **{"app-speaker_phone": "+254 711 000 111", "app-speaker_name": "Amani Wekesa"})
    token = make_token(application)
    page = client.get(f"/applications/{token}/your-data/")
    assert page.status_code == 200 and f'lang="{language}"' in page.content.decode()
    assert "Amani Wekesa" in page.content.decode() and "+254 711 000 111" in page.content.decode()
    download = client.get(f"/applications/{token}/your-data.json")
    assert download["Content-Disposition"].startswith("attachment")
    data = json.loads(download.content)
    assert data["speaker"]["speaker_phone"] == "+254 711 000 111"
    assert data["application"]["state"] and data["consent"]["privacy_version"] == 1

    refused = client.post(f"/applications/{token}/erase/", {})
    assert refused.status_code == 400 and 'href="#id_confirm"' in refused.content.decode()
    assert Application.objects.get(pk=application.pk).erased_at is None
    with django_capture_on_commit_callbacks(execute=True):
        done = client.post(f"/applications/{token}/erase/", {"confirm": "on"})
    assert done.status_code == 302
    gone = client.get(done["Location"])
    assert gone.status_code == 410 and "Amani" not in gone.content.decode()

    application.refresh_from_db()
    assert application.status == "withdrawn" and application.erased_at and application.erasure_receipt
    assert "amani" not in full_dump() and "+254 711 000 111" not in full_dump()
    [sent] = [message for message in mailoutbox if application.erasure_receipt in message.body]
    assert sent.to == ["contact@kenya-hr.example.org"]
    html = sent.alternatives[0][0] if sent.alternatives else ""
    for secret in ("Amani", "Kenya", "kenya-hr", token):
        assert secret not in sent.body + sent.subject + html
    # Once sent, the outbox keeps nothing that links the address to the receipt.
    receipt = Email.objects.get(kind="erasure-receipt")
    assert receipt.status == "sent" and receipt.language == language
    assert (receipt.to, receipt.body_text, receipt.body_html) == ("", "", "")
    assert "kenya-hr" not in full_dump()
    for path in ("your-data/", "your-data.json", "edit/", "withdraw/", "erase/"):
        assert client.get(f"/applications/{token}/{path}").status_code == 404


@pytest.mark.parametrize("language", ["en", "fr", "es"])
def test_a_selected_speaker_who_erases_leaves_every_public_output_and_the_coordinators_are_told(uploads, cast, kenya, language):
    from tests.factories import close_call

    speakers = [make_application(kenya, name=f"Speaker {i}", gender="woman" if i % 2 else "man") for i in range(6)]
    for application in speakers:
        Application.objects.filter(pk=application.pk).update(
            publication="name_and_organisation", speaker_name=f"Name{application.pk}X"
        )
    cast.coordinator.email = "carla@upr-info.example.org"
    cast.coordinator.save()
    close_call(kenya.session)
    panel = panels_domain.compose_panel(kenya)
    finalise(panel)
    send_decisions()
    chosen = PanelMember.objects.filter(panel=panel, role="speaker").select_related("application__organisation")
    for member in chosen:
        panels_domain.confirm_participation(member, attends_training=True)
    member = chosen.first()
    leaving = member.application
    name = f"Name{leaving.pk}X"
    meeting = {
        "iso2": "KE",
        "state": "KE",
        "order": 1,
        "start": "2027-04-01T10:00",
        "end": "2027-04-01T11:00",
        "room": "XXIV",
        "online_link": "",
        "agenda": [],
    }
    speaker = {"member": member.pk, "position": 1, "organisation": leaving.organisation.name, "name": name, "statement_key": "k"}
    release = ScheduleRelease.objects.create(
        session=kenya.session,
        number=1,
        name="1",
        payload=publishing.snapshot(kenya.session)
        | {"days": [{"date": "2027-04-01", "meetings": [meeting | {"speakers": [speaker]}]}]},
        etag="x",
    )

    client = Client()
    client.cookies["django_language"] = language
    token = make_token(leaving)
    page = client.get(f"/applications/{token}/erase/")
    assert page.status_code == 200 and f'lang="{language}"' in page.content.decode()
    assert client.post(f"/applications/{token}/erase/", {"confirm": "on"}).status_code == 302

    leaving.refresh_from_db()
    assert leaving.status == "declined" and leaving.erased_at
    member.refresh_from_db()
    assert member.role == "declined"
    assert name.lower() not in full_dump()
    for path in (f"/sessions/{kenya.session.number}/schedule/", f"/sessions/{kenya.session.number}/schedule.json"):
        response = Client().get(path)
        assert name not in response.content.decode()
    told = Email.objects.get(kind="speaker-erased")
    assert told.to == "carla@upr-info.example.org" and kenya.name in told.subject
    assert "Speaker" not in told.body_text and name not in told.body_text
    release.refresh_from_db()
    assert release.payload["days"][0]["meetings"][0]["speakers"][0] == {
        **speaker,
        "organisation": None,
        "name": None,
        "statement_key": None,
    }


def test_consent_records_the_version_of_the_notice_and_the_form_links_to_it(kenya, client):
    form = client.get("/sessions/60/apply/").content.decode()
    assert 'href="/privacy/"' in form
    first = apply(client, kenya)
    assert first.privacy_version == PrivacyNotice.BUILT_IN_VERSION == 1
    notice = PrivacyNotice.objects.create(text="## Who\n\nUPR Info.\n\n- one\n- two", text_fr="## Qui\n\nUPR Info.")
    assert notice.version == 2
    second = apply(Client(), kenya, email="second@example.org")
    assert second.privacy_version == 2
    page = Client().get("/privacy/").content.decode()
    assert "<h2" in page and "<li>one</li>" in page and "Version 2" in page
    french = Client()
    french.cookies["django_language"] = "fr"
    assert "Qui" in french.get("/privacy/").content.decode()


def test_the_built_in_notice_states_this_sites_periods(client, settings):
    settings.RETENTION = {**settings.RETENTION, "unselected": 180}
    page = client.get("/privacy/").content.decode()
    assert "6 months after the Pre-session week" in page
    assert "2 years after the Pre-session week" in page


def test_staff_cannot_edit_or_delete_a_published_notice(admin_client):
    notice = PrivacyNotice.objects.create(text="Old text")
    response = admin_client.post(f"/admin/presessions/privacynotice/{notice.pk}/change/", {"text": "New text"})
    notice.refresh_from_db()
    assert notice.text == "Old text" and response.status_code in (302, 403, 200)
    added = admin_client.get("/admin/presessions/privacynotice/add/")
    assert "Old text" in added.content.decode()  # the form starts from the current text
    assert admin_client.post(f"/admin/presessions/privacynotice/{notice.pk}/delete/", {"post": "yes"}).status_code == 403
    assert PrivacyNotice.objects.filter(pk=notice.pk).exists()


def test_assessment_comments_are_blanked_and_scores_kept(kenya, cast):
    application = make_application(kenya, name="Scored Voice")
    Assessment.objects.create(application=application, assessor=cast.alice, comment="Met Ms Wekesa", total=7)
    privacy.erase_applications([application.pk])
    assessment = Assessment.objects.get(application=application)
    assert assessment.comment == "" and assessment.total == 7
    assert not assessment.history.exclude(comment="").exists()


def test_the_copy_takes_the_same_number_of_queries_however_many_emails_and_themes(kenya, client):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    application = apply(client, kenya)
    token = make_token(application)

    def queries() -> int:
        with CaptureQueriesContext(connection) as captured:
            assert client.get(f"/applications/{token}/your-data/").status_code == 200
            assert client.get(f"/applications/{token}/your-data.json").status_code == 200
        return len(captured)

    few = queries()
    for i in range(12):
        Email.objects.create(
            to=application.email, kind="x", subject=f"S{i}", body_text="b", dedupe_key=f"q{i}", related=application
        )
    assert queries() == few
