"""
Uploads on S3-compatible object storage (django-storages), against a real S3 server on loopback
(moto's standalone server): an applicant's report and a speaker's statement, sent through the real
forms, land in the bucket under the prefix with a private ACL and nowhere on this host's disk; staff
who may see them download them through the application (200 with the bytes, never a redirect to
the bucket), others are refused, and no page shows where a file is stored.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from applications.models import Application
from panels import domain, publishing
from tests.conftest import service_unavailable
from tests.deploy import s3 as s3server
from tests.factories import PDF_BYTES, application_post, confirm_speakers, finalise, login_staff, make_application

pytestmark = pytest.mark.django_db

# A PDF no other test uploads, so that finding these bytes proves where this upload went.
REPORT = PDF_BYTES.replace(b"/Producer (pypdf)", b"/Producer (object-storage-report)")
STATEMENT = PDF_BYTES.replace(b"/Producer (pypdf)", b"/Producer (object-storage-statement)")


@pytest.fixture(scope="module")
def moto_endpoint():
    if not s3server.moto_available():
        service_unavailable("moto is not installed, so there is no S3-compatible server to test object storage against")
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    endpoint = f"http://{host}:{port}"
    s3server.client(endpoint).create_bucket(Bucket=s3server.BUCKET)
    yield endpoint
    server.stop()


@pytest.fixture
def bucket(moto_endpoint, settings):
    """The uploads storage switched to the bucket for one test (the settings fixture resets Django's cached storages)."""
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {"BACKEND": "storages.backends.s3.S3Storage", "OPTIONS": s3server.storage_options(moto_endpoint)},
    }
    from django.core.files.storage import storages
    from storages.backends.s3 import S3Storage

    assert isinstance(storages["default"], S3Storage)  # not a backend cached from before the override
    client = s3server.client(moto_endpoint)
    s3server.empty(client)
    client.endpoint = moto_endpoint
    yield client
    s3server.empty(client)


def _on_local_disk(settings, content: bytes) -> list[Path]:
    """The files with these bytes under this host's own folders, where uploads land without object storage."""
    roots = {Path(settings.VAR_DIR) / "private", *([Path(settings.MEDIA_ROOT)] if settings.MEDIA_ROOT else [])}
    return [
        path for root in roots if root.exists() for path in root.rglob("*") if path.is_file() and path.read_bytes() == content
    ]


def _apply_with_report(client, kenya) -> Application:
    data = application_post(kenya, email="report@object-storage.example.org")
    data["app-report_file"] = SimpleUploadedFile("Our report (final).pdf", REPORT, content_type="application/pdf")
    response = client.post("/sessions/60/apply/", data)
    assert response.status_code == 302, response.content.decode()[:2000]
    return Application.objects.get(email="report@object-storage.example.org")


def _shown(pages: dict, stem: str, endpoint: str) -> list[tuple[str, str]]:
    """Which pages (name: (client, url)) show the stored file's name or anything of the bucket."""
    shown = []
    for what, (who, url) in pages.items():
        response = who.get(url)
        assert response.status_code == 200, (what, response.status_code)
        page = response.content.decode()
        secrets = (stem, endpoint.split("//", 1)[1], s3server.BUCKET, s3server.ACCESS_KEY, "X-Amz-", "amazonaws")
        shown += [(what, secret) for secret in secrets if secret in page]
    return shown


class ShownOnPage(Exception):
    """A page shows where a file is stored (the known gaps below expect this, and nothing else, to go wrong)."""


def _raise_if_shown(pages: dict, stem: str, endpoint: str) -> None:
    shown = _shown(pages, stem, endpoint)
    if shown:
        raise ShownOnPage(shown)


def _download(client, url):
    response = client.get(url)
    body = b"".join(response.streaming_content) if response.streaming else response.content
    return response, body


def test_a_report_goes_to_the_bucket_privately_and_staff_download_it_through_the_application(
    client, settings, bucket, kenya, cast
):
    from storages.backends.s3 import S3Storage

    assert isinstance(Application._meta.get_field("report_file").storage, S3Storage)
    application = _apply_with_report(client, kenya)

    # In the bucket, under the prefix, under a random name, with a private ACL; not on this host's disk.
    stored = s3server.objects(bucket)
    name = application.report_file.name
    assert re.fullmatch(r"reports/[0-9a-f]{32}\.pdf", name)
    assert stored == {f"{s3server.PREFIX}/{name}": REPORT}
    assert s3server.public_grants(bucket, f"{s3server.PREFIX}/{name}") == []
    grants = bucket.get_object_acl(Bucket=s3server.BUCKET, Key=f"{s3server.PREFIX}/{name}")["Grants"]
    assert [g["Permission"] for g in grants] == ["FULL_CONTROL"]  # the owner's only
    assert s3server.anonymous_status(bucket.endpoint, f"{s3server.PREFIX}/{name}") == 403
    assert _on_local_disk(settings, REPORT) == []

    url = f"/staff/applications/{application.pk}/report.pdf"
    # Anonymous: to the login page, without the file.
    anonymous = Client().get(url)
    assert anonymous.status_code == 302 and anonymous["Location"].startswith("/account/login/")
    # The coordinator may see every application: the bytes, streamed by the application itself.
    response, body = _download(login_staff(Client(), cast.coordinator), url)
    assert response.status_code == 200 and body == REPORT
    assert response.streaming and not response.has_header("Location")
    assert response["Content-Type"] == "application/pdf" and response["Content-Length"] == str(len(REPORT))
    assert response["Content-Disposition"] == f'attachment; filename="report-{application.pk}.pdf"'
    # Kenya's assessor sees it once it is screened eligible, not before; Türkiye's assessor never.
    alice, bob = login_staff(Client(), cast.alice), login_staff(Client(), cast.bob)
    assert _download(alice, url)[0].status_code == 403
    Application.objects.filter(pk=application.pk).update(screening="eligible")
    response, body = _download(alice, url)
    assert response.status_code == 200 and body == REPORT and not response.has_header("Location")
    assert _download(bob, url)[0].status_code == 403
    # Downloading wrote nothing here either, and the bucket still holds just the one object.
    assert _on_local_disk(settings, REPORT) == []
    assert list(s3server.objects(bucket)) == [f"{s3server.PREFIX}/{name}"]


def test_no_page_shows_where_a_report_is_stored(client, bucket, kenya, cast):
    application = _apply_with_report(client, kenya)
    Application.objects.filter(pk=application.pk).update(screening="eligible")
    stem = Path(application.report_file.name).stem
    coordinator, alice = login_staff(Client(), cast.coordinator), login_staff(Client(), cast.alice)
    pages = {
        "the applicant's private page": (client, application.get_private_url()),
        "the admin's change page": (coordinator, f"/admin/applications/application/{application.pk}/change/"),
        "the admin's list": (coordinator, "/admin/applications/application/"),
        "the audit history": (coordinator, f"/admin/applications/application/{application.pk}/history/"),
        "the assessment page": (alice, f"/admin/applications/application/{application.pk}/assess/"),
        "the dashboard": (coordinator, "/staff/sessions/60/dashboard/"),
    }
    assert _shown(pages, stem, bucket.endpoint) == []
    # Staff get the application's own download link, which the test above shows is guarded.
    assert (
        f"/staff/applications/{application.pk}/report.pdf"
        in coordinator.get(pages["the admin's change page"][1]).content.decode()
    )


@pytest.fixture
def kenya_panel(open_session, kenya):
    for i, name in enumerate(["Amani Voice", "Baraza Watch", "Comfort Trust"]):
        app = make_application(kenya, name=name, gender=["woman", "man", "woman"][i])
        Application.objects.filter(pk=app.pk).update(
            score_mean=9 - i, publication="name_and_organisation", speaker_name=f"Speaker {name}"
        )
    panel = domain.compose_panel(kenya)
    finalise(panel)
    publishing.build_schedule(open_session)
    confirm_speakers(panel)
    return panel


def test_a_statement_goes_to_the_bucket_privately_and_is_served_by_the_application_only_once_public(
    client, settings, bucket, open_session, kenya_panel, django_capture_on_commit_callbacks
):
    member = kenya_panel.members.get(application__organisation__name="Amani Voice")
    token = member.application.get_private_url().split("/")[2]
    response = client.post(
        f"/applications/{token}/participation/",
        {
            "form": "statement",
            "language": "fr",
            "statement": SimpleUploadedFile("mine.pdf", STATEMENT, content_type="application/pdf"),
        },
    )
    assert response.status_code == 302
    member.refresh_from_db()
    key = f"{s3server.PREFIX}/{member.statement_file.name}"
    assert member.statement_file.name.startswith("statements/")
    assert s3server.objects(bucket) == {key: STATEMENT}
    assert s3server.public_grants(bucket, key) == []
    assert s3server.anonymous_status(bucket.endpoint, key) == 403
    assert _on_local_disk(settings, STATEMENT) == []

    url = f"/statements/{member.statement_key}.pdf"
    assert Client().get(url).status_code == 404  # not public until staff say so
    with django_capture_on_commit_callbacks(execute=True):
        member.statement_public = True
        member.save()
    publishing.publish(open_session)
    response, body = _download(Client(), url)
    assert response.status_code == 200 and body == STATEMENT
    assert response.streaming and not response.has_header("Location")
    schedule = Client().get("/sessions/60/schedule/ke/").content.decode()
    assert url in schedule  # the public page links to the application's address...
    stem = Path(member.statement_file.name).stem
    for secret in (stem, bucket.endpoint.split("//", 1)[1], s3server.BUCKET, "X-Amz-"):
        assert secret not in schedule  # ...never to the bucket
    assert _on_local_disk(settings, STATEMENT) == []


# Where a file field would link to the stored file (crispy's file widget, the admin's): never the bucket.


def test_the_applicants_edit_page_does_not_link_to_the_bucket(client, bucket, kenya):
    application = _apply_with_report(client, kenya)
    pages = {"the applicant's edit page": (client, application.get_private_url() + "edit/")}
    _raise_if_shown(pages, Path(application.report_file.name).stem, bucket.endpoint)


def test_the_panel_admin_does_not_link_to_the_bucket(client, bucket, kenya_panel, cast):
    member = kenya_panel.members.get(application__organisation__name="Amani Voice")
    token = member.application.get_private_url().split("/")[2]
    upload = SimpleUploadedFile("mine.pdf", STATEMENT, content_type="application/pdf")
    response = client.post(f"/applications/{token}/participation/", {"form": "statement", "language": "fr", "statement": upload})
    assert response.status_code == 302
    member.refresh_from_db()
    assert member.statement_file.name.startswith("statements/")
    coordinator = login_staff(Client(), cast.coordinator)
    pages = {
        "the panel member's admin page": (coordinator, f"/admin/panels/panelmember/{member.pk}/change/"),
        "the panel's admin page": (coordinator, f"/admin/panels/panel/{kenya_panel.pk}/change/"),
    }
    _raise_if_shown(pages, Path(member.statement_file.name).stem, bucket.endpoint)


def test_erasure_and_the_purge_delete_files_in_the_bucket(client, bucket, kenya, django_capture_on_commit_callbacks):
    """Issue 17: an applicant's erasure removes their report from the bucket; the purge removes an upload no row refers to."""
    import datetime as dt

    from django.core.files.base import ContentFile
    from django.core.files.storage import default_storage
    from django.utils import timezone

    from applications import privacy
    from applications.tokens import make_token

    application = _apply_with_report(client, kenya)
    orphan = default_storage.save("reports/left-behind.pdf", ContentFile(REPORT))
    assert {f"{s3server.PREFIX}/{application.report_file.name}", f"{s3server.PREFIX}/{orphan}"} <= set(s3server.objects(bucket))
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(f"/applications/{make_token(application)}/erase/", {"confirm": "on"})
    assert response.status_code == 302
    assert set(s3server.objects(bucket)) == {f"{s3server.PREFIX}/{orphan}"}
    privacy.purge(now=timezone.now())
    assert set(s3server.objects(bucket)) == {f"{s3server.PREFIX}/{orphan}"}  # uploaded a moment ago: it may be a new upload's
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(privacy.timezone, "now", lambda: dt.datetime.now(dt.UTC) + dt.timedelta(days=2))
        report = privacy.purge()
    assert report.counts["orphan_files"] == 1 and s3server.objects(bucket) == {}
