"""
Issue 17, the holes an attacker found in the first version of erasure and purge, one test each:
what survived an erasure (history reasons, screening reasons, outbox keys, the receipt, rare
organisation details), what an erasure took that it should not have (another application's
emails), a dry run that counted differently from the real run, and the command's dangerous dates.
"""

import datetime as dt
import io
import os
import threading

import pytest
from django.core.files.base import ContentFile
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection
from django.test import Client
from django.utils import timezone

from applications import privacy
from applications.models import Application, Organisation
from applications.tokens import make_token
from outbox.delivery import queue_email
from outbox.models import Email
from presessions.models import PrivacyNotice
from tests.applications.test_privacy import full_dump, uploads  # noqa: F401 -- a fixture
from tests.factories import PDF_BYTES, application_post, make_application

pytestmark = pytest.mark.django_db


def test_erasing_one_application_keeps_the_emails_of_another_that_shares_its_address(kenya, turkiye):
    first = make_application(kenya, name="Shared Forum", email="shared@example.org")
    second = make_application(turkiye, name="Shared Forum TR", email="shared@example.org")
    queue_email(
        to="shared@example.org",
        name="application-received",
        context={"application": second},
        language="en",
        related=second,
        dedupe_key="keep",
    )
    queue_email(
        to="shared@example.org",
        name="application-received",
        context={"application": first},
        language="en",
        related=first,
        dedupe_key="go",
    )

    privacy.erase_applications([first.pk])

    assert list(Email.objects.values_list("dedupe_key", flat=True)) == ["keep"]
    assert Email.objects.get().to == "shared@example.org"


def test_an_address_nobody_uses_any_more_loses_its_unrelated_emails_and_keys_that_name_it(kenya):
    application = make_application(kenya, name="Lone Forum", email="lone@example.org")
    queue_email(to="lone@example.org", name="alert-confirm", context={}, language="en", dedupe_key="alert:lone@example.org")
    sending = queue_email(
        to="other@example.org", name="alert-confirm", context={}, language="en", dedupe_key="cc:lone@example.org"
    )
    Email.objects.filter(pk=sending.pk).update(status="sending")  # a worker holds it: it stays, but its key names nobody

    privacy.erase_applications([application.pk])

    assert "lone@example.org" not in full_dump()
    assert Email.objects.get(pk=sending.pk).dedupe_key == f"erased:{sending.pk}"


def test_an_erasure_leaves_no_reason_no_screening_note_and_no_rare_organisation_detail(kenya):
    application = make_application(kenya, name="Reasoned Forum")
    application.screening_reason = "SCREENING-NOTE-XY not about this State"
    application._change_reason = "HISTORY-REASON-XY I fear for my safety"
    application.save()
    Organisation.objects.filter(pk=application.organisation_id).update(
        member_count=4321, established_year=1887, ecosoc_status=True
    )
    organisation = Organisation.objects.get(pk=application.organisation_id)
    organisation._change_reason = "ORG-REASON-XY"
    organisation.save()
    dump = full_dump()
    assert "screening-note-xy" in dump and "history-reason-xy" in dump and "org-reason-xy" in dump and "4321" in dump

    privacy.erase_applications([application.pk])

    dump = full_dump()
    assert "screening-note-xy" not in dump and "history-reason-xy" not in dump and "org-reason-xy" not in dump
    organisation.refresh_from_db()
    assert (organisation.member_count, organisation.established_year, organisation.ecosoc_status) == (None, None, False)
    assert (organisation.kind, organisation.scope, organisation.country.code) == (
        "cso",
        "national",
        "KE",
    )  # the counts' categories


def test_the_outbox_retention_also_forgets_keys_that_name_an_address(kenya):
    email = queue_email(
        to="watcher@example.org",
        name="alert-confirm",
        context={},
        language="en",
        dedupe_key="schedule-updated:3:watcher@example.org",
    )
    later = timezone.now() + dt.timedelta(days=privacy.retention_days("outbox") + 1)

    privacy.purge(now=later)

    email.refresh_from_db()
    assert (email.to, email.body_text, email.dedupe_key) == ("", "", f"erased:{email.pk}")


def test_a_draft_keeps_accessibility_needs_only_with_consent(client, kenya):
    data = application_post(kenya, **{"action": "draft", "app-accessibility_needs": "I use a wheelchair", "app-consent_data": ""})
    data.pop("app-consent_data", None)
    response = client.post("/sessions/60/apply/", data)

    assert response.status_code == 200
    page = response.content.decode()
    assert "To save accessibility needs, tick the consent box below" in page
    assert 'href="#id_app-accessibility_needs"' in page  # the error summary points at the field
    assert "I use a wheelchair" in page  # what was typed is still there
    assert not Application.objects.exists()

    data.pop("app-accessibility_needs")
    saved = client.post("/sessions/60/apply/", data)
    assert saved.status_code in (302, 303)
    assert Application.objects.get().status == "draft"


def build_purgeable(kenya, folder):
    """Two decided applications past their period, with a file, an email each and their own organisations."""
    applications = []
    for index in range(2):
        application = make_application(kenya, name=f"Purged Forum {index}", status="not_selected")
        application.report_file.save("report.pdf", ContentFile(PDF_BYTES))
        queue_email(
            to=application.email, name="alert-confirm", context={}, language="en", related=application, dedupe_key=f"p{index}"
        )
        applications.append(application)
    end = privacy.presession_end(kenya.session)
    return applications, timezone.make_aware(dt.datetime.combine(end + dt.timedelta(days=400), dt.time(12)))


def test_a_dry_run_counts_exactly_what_the_real_run_then_does_and_changes_nothing(kenya, uploads):  # noqa: F811
    applications, later = build_purgeable(kenya, uploads)
    files = [a.report_file.name for a in applications]

    dry = privacy.purge(now=later, dry_run=True)

    assert Application.objects.filter(erased_at__isnull=True).count() == 2
    assert Email.objects.count() == 2 and all(uploads.joinpath(name).exists() for name in files)
    real = privacy.purge(now=later)
    assert real.counts["unselected"] == 2 and real.counts["organisations"] == 2
    assert real.counts["emails"] == 2 and real.counts["files"] == 2
    assert {k: v for k, v in dry.counts.items() if v} == {k: v for k, v in real.counts.items() if v}
    again = privacy.purge(now=later)
    assert again.counts["unselected"] == again.counts["organisations"] == 0  # nothing is counted twice


def test_the_file_email_backend_s_old_messages_are_purged(settings, tmp_path):
    settings.EMAIL_BACKEND = "django.core.mail.backends.filebased.EmailBackend"
    settings.EMAIL_FILE_PATH = tmp_path
    old, fresh = tmp_path / "old.log", tmp_path / "fresh.log"
    old.write_text("To: someone@example.org")
    fresh.write_text("To: someone-else@example.org")
    now = timezone.now()
    os.utime(old, ((now - dt.timedelta(days=privacy.retention_days("outbox") + 1)).timestamp(),) * 2)

    report = privacy.purge(now=now)

    assert report.counts["mail_files"] == 1
    assert not old.exists() and fresh.exists()


def test_the_command_refuses_an_empty_date_and_asks_before_erasing_early(kenya, uploads, monkeypatch):  # noqa: F811
    applications, later = build_purgeable(kenya, uploads)
    with pytest.raises(CommandError, match="not a date"):
        call_command("purge", "--now", "")
    future = (timezone.localdate() + dt.timedelta(days=800)).isoformat()
    monkeypatch.setattr("builtins.input", lambda prompt: "no")
    with pytest.raises(CommandError, match="Nothing was erased"):
        call_command("purge", "--now", future, stdout=io.StringIO())
    assert Application.objects.filter(erased_at__isnull=True).count() == 2
    monkeypatch.setattr("builtins.input", lambda prompt: "yes")
    call_command("purge", "--now", future, stdout=(out := io.StringIO()))
    assert "Erased: 2 unselected" in out.getvalue()


def test_earlier_versions_of_the_notice_stay_readable(client):
    assert client.get("/privacy/version-1/").status_code == 302  # while it is the one in force
    PrivacyNotice.objects.create(text="## Second\n\nSECOND-TEXT", changes="Shorter periods")
    PrivacyNotice.objects.create(text="## Third\n\nTHIRD-TEXT")

    current = client.get("/privacy/").content.decode()
    assert "THIRD-TEXT" in current and 'href="/privacy/version-2/"' in current and 'href="/privacy/version-1/"' in current
    second = client.get("/privacy/version-2/").content.decode()
    assert "SECOND-TEXT" in second and "Shorter periods" in second and "earlier version" in second
    built_in = client.get("/privacy/version-1/").content.decode()
    assert "Who holds your data" in built_in
    assert client.get("/privacy/version-3/").status_code == 302
    assert client.get("/privacy/version-9/").status_code == 404


@pytest.mark.django_db(transaction=True)
def test_two_erasures_at_once_both_answer_and_erase_once(kenya, uploads):  # noqa: F811
    if connection.vendor == "sqlite" and connection.settings_dict["NAME"].startswith(("file:memorydb", ":memory:")):
        pytest.skip("an in-memory SQLite database is one connection; run on PostgreSQL or a SQLite file")
    application = make_application(kenya, name="Twice Forum")
    token = make_token(application)
    statuses = []

    def erase():
        try:
            statuses.append(Client().post(f"/applications/{token}/erase/", {"confirm": "on"}).status_code)
        finally:
            connection.close()

    threads = [threading.Thread(target=erase) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert sorted(statuses) in ([302, 302], [302, 404])
    assert Email.objects.filter(kind="erasure-receipt").count() == 1
    assert Application.objects.get(pk=application.pk).erased_at is not None


# ---------------------------------------------------------------- the second attack


def test_an_erasure_takes_the_names_out_of_the_admin_log_wherever_it_quotes_them(kenya, cast):
    from django.contrib.admin.models import CHANGE, LogEntry

    application = make_application(kenya, name="Youth for Democracy Togo")
    Application.objects.filter(pk=application.pk).update(speaker_name="Afi Mensah")
    message = (
        '[{"changed": {"name": "panel member", "object": "Youth for Democracy Togo (Speaker)", "fields": ["statement_public"]}}]'
    )
    LogEntry.objects.log_actions(cast.coordinator.pk, [kenya], CHANGE, change_message=message)
    LogEntry.objects.log_actions(cast.coordinator.pk, [kenya.session], CHANGE, change_message="Speaker Afi Mensah moved.")
    assert "youth for democracy togo" in full_dump()

    privacy.erase_applications([application.pk])

    dump = full_dump()
    assert "youth for democracy togo" not in dump and "afi mensah" not in dump
    assert LogEntry.objects.filter(change_message__contains="[erased] (Speaker)").count() == 1


def test_the_purge_erases_organisations_whose_applications_were_deleted_and_log_names_of_deleted_rows(kenya, cast):
    from django.contrib.admin.models import DELETION, LogEntry

    from applications import domain as applications_domain

    application = make_application(kenya, name="Deleted Forum Seven")
    alert = applications_domain.subscribe_to_call_alert(email="alertseed@example.org", country="KE", language="en")
    LogEntry.objects.log_actions(cast.coordinator.pk, [alert], DELETION)
    LogEntry.objects.log_actions(cast.coordinator.pk, [application], DELETION)
    alert.delete()
    application.delete()  # in the admin: the organisation stays, with no application
    assert "deleted forum seven" in full_dump() and "alertseed@example.org" in full_dump()

    report = privacy.purge(now=timezone.now() + dt.timedelta(days=privacy.retention_days("drafts") + 1))

    dump = full_dump()
    assert "deleted forum seven" not in dump and "alertseed@example.org" not in dump
    assert report.counts["organisations"] == 1 and report.counts["log_entries"] >= 1


def test_an_erased_application_is_never_picked_nor_emailed_again(kenya, cast):
    from panels import domain as panels_domain
    from tests.factories import finalise

    for i in range(6):
        make_application(kenya, name=f"Pool {i}", gender="woman" if i % 2 else "man")
    left_out = make_application(kenya, name="Pending Forum", screening="pending")  # not in the pool: not selected
    panel = panels_domain.compose_panel(kenya)
    finalise(panel)
    left_out.refresh_from_db()
    assert left_out.status == "not_selected"
    privacy.erase_applications([left_out.pk])
    Application.objects.filter(pk=left_out.pk).update(screening="eligible")  # screened again later: still out

    assert left_out.pk not in set(panels_domain.candidate_applications(kenya).values_list("pk", flat=True))
    panels_domain.reopen_panel(panel)
    panels_domain.compose_panel(kenya)
    Email.objects.all().delete()
    finalise(panel)
    assert not Email.objects.filter(to__endswith="@erased.invalid").exists()


def test_a_schedule_answers_afresh_after_an_erasure_and_no_copy_of_its_pages_is_kept(client, kenya):
    from django.core.cache import cache

    from presessions import caching

    caching.set_page("schedule:etag-1:en:week", b"<p>Afi Mensah</p>", timezone.now().timestamp() + 3600)
    caching.set_page("page:v1:en:/sessions/60/?:1", (200, "text/html", b"x"), timezone.now().timestamp() + 3600)
    caching.clear_local()
    assert caching.get_page("schedule:etag-1:en:week") == b"<p>Afi Mensah</p>"
    application = make_application(kenya, name="Cached Forum")

    from django.test import TestCase

    with TestCase.captureOnCommitCallbacks(execute=True):
        privacy.erase_applications([application.pk])

    caching.clear_local()
    assert caching.get_page("schedule:etag-1:en:week") is None and caching.get_page("page:v1:en:/sessions/60/?:1") is None
    assert cache.get("schedule:etag-1:en:week") is None


def test_the_copy_holds_the_pending_address_the_screening_and_the_language_by_name(client, kenya):
    from applications import domain as applications_domain

    application = make_application(kenya, name="Copied Forum")
    Application.objects.filter(pk=application.pk).update(screening_reason="Checked by staff", language="fr")
    application.refresh_from_db()
    applications_domain.request_email_change(application, "new-address@example.org")
    data = client.get(f"/applications/{make_token(application)}/your-data.json").json()

    assert data["organisation"]["pending_email"] == "new-address@example.org"
    assert data["application"]["screening_reason"] == "Checked by staff" and data["application"]["screening"]
    assert data["consent"]["language"] in ("French", "Français", "Francés")


def test_an_erased_application_s_reminders_link_is_gone_and_absurd_dates_are_refused(client, kenya):
    from applications.tokens import UNSUBSCRIBE_SALT, sign

    application = make_application(kenya, name="Reminded Forum")
    link = f"/applications/{sign(application.link_key, UNSUBSCRIBE_SALT)}/reminders-off/"
    assert client.get(link).status_code == 200
    privacy.erase_applications([application.pk])
    assert client.get(link).status_code == 404 and client.post(link).status_code == 404
    with pytest.raises(CommandError, match="out of range"):
        call_command("purge", "--dry-run", "--now", "0001-01-01")
