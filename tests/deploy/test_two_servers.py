"""
Two web servers, each with a var/ folder of its own, against the same PostgreSQL, Redis and object
storage (tests/deploy/servers.py): an applicant's upload through one is downloaded by staff
through the other, and a change made through one shows on the other's public pages within the
delay presessions/caching.py documents: "Each process also keeps the data version it last read for
a second [...] A change made in another process is therefore seen within a second".
"""

from __future__ import annotations

import json
import re
import shutil
import time
import uuid

import pytest

from presessions.caching import LOCAL_VERSION_SECONDS, SECONDS
from tests.conftest import service_unavailable
from tests.deploy import s3 as s3server
from tests.deploy.servers import TwoServers, form_fields, missing_services, sign_in
from tests.factories import PDF_BYTES
from tests.faults.stack import application_data

pytestmark = pytest.mark.services

# What "within the documented delay" allows on top of it: the time a poll waits before it asks again.
POLL = 0.05
REPORT = PDF_BYTES.replace(b"/Producer (pypdf)", b"/Producer (two-servers " + uuid.uuid4().hex.encode() + b")")
PASSWORD = "two-servers-staff-password-9"
STAFF = """
import json
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django_otp.plugins.otp_totp.models import TOTPDevice
keys = {}
for name, group, superuser in (("carla", "Coordinator", False), ("bob", "Assessor", False), ("edith", None, True)):
    user = get_user_model().objects.create_user(name, password=PASSWORD, is_staff=True, is_superuser=superuser)
    if group:
        user.groups.add(Group.objects.get(name=group))
    keys[name] = TOTPDevice.objects.create(user=user, name="default", confirmed=True).key
print(json.dumps(keys))
"""


@pytest.fixture(scope="module")
def site():
    missing = missing_services()
    if missing:
        service_unavailable(f"the two-server test needs {', '.join(missing)}")
    started = TwoServers.start()
    try:
        output = started.stack.manage("shell", "-c", STAFF.replace("PASSWORD", repr(PASSWORD)))
        started.keys = json.loads(output.strip().splitlines()[-1])
        started.form = started.stack.form_data()
        yield started
    finally:
        started.stop()
        shutil.rmtree(started.stack.folder, ignore_errors=True)


def test_an_upload_through_one_server_is_downloaded_by_staff_through_the_other(site):
    # An applicant submits the form with a PDF through server A.
    applicant, number = site.browser("a"), site.form["number"]
    status, tokens = applicant.form_tokens(f"/sessions/{number}/apply/")
    assert status == 200 and set(tokens) == {"csrfmiddlewaretoken", "app-form_token"}
    email = f"two-servers-{uuid.uuid4().hex[:8]}@example.org"
    files = {"app-report_file": ("Our report.pdf", REPORT, "application/pdf")}
    status, headers, body = applicant.send(
        "POST", f"/sessions/{number}/apply/", application_data(site.form, email, tokens), files
    )
    assert (status, headers.get("location")) == (302, f"/sessions/{number}/apply/sent/"), re.findall(
        r"invalid-feedback[^>]*>\s*(?:<[^>]+>)*([^<]+)", body.decode(errors="replace")
    )
    [(pk, name)] = site.stack.query("SELECT id, report_file FROM applications_application WHERE email = %s", (email,))
    assert re.fullmatch(r"reports/[0-9a-f]{32}\.pdf", name)

    # It is in the bucket, private; neither server kept it on its own disk.
    s3 = s3server.client(site.endpoint)
    key = f"{s3server.PREFIX}/{name}"
    objects = s3server.objects(s3)
    assert objects[key] == REPORT
    # Besides it, only the written statements of the demo's past session (panels/demo.py).
    assert all(name.startswith("private/statements/") for name in objects if name != key)
    assert s3server.public_grants(s3, key) == []
    assert s3server.anonymous_status(site.endpoint, key) == 403
    for server in ("a", "b"):
        assert [p for p in site.files_on_disk(server) if "private" in p.parts or p.suffix == ".pdf"] == []

    # Through server B: anonymous is sent to the login page; an assessor of no State is refused;
    # a coordinator, signed in with password and code, gets the very bytes from the application.
    url = f"/staff/applications/{pk}/report.pdf"
    status, headers, body = site.browser("b").send("GET", url)
    assert status == 302 and headers["location"].startswith("/account/login/") and REPORT not in body
    assessor = site.browser("b")
    sign_in(assessor, "bob", PASSWORD, site.keys["bob"])
    status, headers, body = assessor.send("GET", url)
    assert status == 403 and REPORT not in body
    coordinator = site.browser("b")
    sign_in(coordinator, "carla", PASSWORD, site.keys["carla"])
    status, headers, body = coordinator.send("GET", url)
    assert status == 200 and body == REPORT
    assert "location" not in headers
    assert headers["content-type"] == "application/pdf" and headers["content-length"] == str(len(REPORT))
    assert headers["content-disposition"] == f'attachment; filename="report-{pk}.pdf"'
    # Staff's pages on B link to the application's own address, never to the bucket.
    status, _headers, page = coordinator.request("GET", f"/admin/applications/application/{pk}/change/")
    assert status == 200 and url in page
    for secret in (name, site.endpoint.split("//", 1)[1], s3server.BUCKET, "X-Amz-"):
        assert secret not in page
    for server in ("a", "b"):
        assert [p for p in site.files_on_disk(server) if "private" in p.parts or p.suffix == ".pdf"] == []


def test_a_change_through_one_server_shows_on_the_others_public_pages_within_the_documented_delay(site):
    review, code = site.form["review"], site.form["country"].lower()
    page = f"/countries/{code}/"
    note = f"Two-server note {uuid.uuid4().hex[:12]}"
    editor = site.browser("a")
    sign_in(editor, "edith", PASSWORD, site.keys["edith"])
    status, _headers, form_page = editor.request("GET", f"/admin/presessions/statereview/{review}/change/")
    assert status == 200
    data = {**form_fields(form_page, "statereview_form"), "status_note": note, "_save": "Save"}

    # Both servers have the page, without the note, in their caches (Redis and each process's memory).
    public = {server: site.browser(server) for server in ("a", "b")}
    for browser in public.values():
        for _ in range(6):  # enough for both workers of each server
            status, _headers, text = browser.request("GET", page)
            assert status == 200 and note not in text
    # Keep clear of the turn of the minute, when every cached public page expires anyway.
    if SECONDS - time.time() % SECONDS < LOCAL_VERSION_SECONDS + 5:
        time.sleep(SECONDS - time.time() % SECONDS + 0.2)

    status, headers, body = editor.send("POST", f"/admin/presessions/statereview/{review}/change/", data)
    assert status == 302, re.findall(r'class="errorlist[^"]*"[^>]*>(.*?)</ul>', body.decode(errors="replace"), re.S)
    changed = time.monotonic()
    assert site.stack.query("SELECT status_note FROM presessions_statereview WHERE id = %s", (review,)) == [(note,)]

    # Every request that B receives once the documented delay has passed shows the change.
    seen = []  # (seconds after the change when the request was sent, server, whether it showed the note)
    while time.monotonic() - changed < LOCAL_VERSION_SECONDS + 1.5:
        for server, browser in public.items():
            sent = time.monotonic() - changed
            status, _headers, text = browser.request("GET", page)
            assert status == 200
            seen.append((sent, server, note in text))
        time.sleep(POLL)
    late = [(sent, server, fresh) for sent, server, fresh in seen if sent >= LOCAL_VERSION_SECONDS + POLL]
    assert len([row for row in late if row[1] == "b"]) >= 10
    assert [row for row in late if not row[2]] == [], f"stale after {LOCAL_VERSION_SECONDS} s: {late}"
