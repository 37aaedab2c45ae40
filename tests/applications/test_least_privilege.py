"""
Least privilege for personal data: an assessor of Kenya (alice) sees what scoring needs, and
none of the speaker's gender, phone, email or accessibility needs on any admin page she can
reach, however she filters, sorts or searches. The coordinator (carla) sees them, and exports
them only when she ticks the box; every export is recorded in the audit history.
"""

import csv
import html
import io
import re

import openpyxl
import pytest
from django.contrib.admin.models import ADDITION, LogEntry
from django.contrib.contenttypes.models import ContentType

from applications import assessment as rules
from applications.models import Application
from tests.factories import login_staff, make_application

pytestmark = pytest.mark.django_db

PHONE = "+254 700 123 987"
NEEDS = "needs step-free access XYZZY"
SPEAKER_EMAIL = "speaker-qwfp@example.org"
SECRETS = [PHONE, "700 123 987", NEEDS, "XYZZY", SPEAKER_EMAIL, "qwfp"]
# "Non-binary" appears nowhere in the admin but in the gender's choices: seeded, it shows any leak of the value.
GENDER, GENDER_LABEL = "non_binary", "Non-binary"
# The fields' names and labels ("speaker's gender", HTML-escaped or not): "gender" alone is also in a theme's name.
SENSITIVE_LABELS = re.compile(
    r"speaker(?:&#x27;|'|’)s (?:gender|phone|email)|speaker_(?:gender|phone|email)|accessibility.needs", re.I
)
GOOD = {"national": True, "report": True, "coalition": False, "quality": 4}
CSV_FORMAT, XLSX_FORMAT = "0", "1"  # their places in ApplicationAdmin.get_export_formats()
EXPORT_URL = "/admin/applications/application/export/"


@pytest.fixture
def seeded(cast, kenya):
    """Two Kenyan applications the assessor may see: one with the distinctive values, one with a man speaking."""
    ke = make_application(kenya, name="Kenya Forum", gender=GENDER)
    Application.objects.filter(pk=ke.pk).update(speaker_phone=PHONE, accessibility_needs=NEEDS, speaker_email=SPEAKER_EMAIL)
    ke.refresh_from_db()
    other = make_application(kenya, name="Nairobi Voices", gender="man")
    assessment = rules.save_assessment(application=ke, assessor=cast.alice, marks=GOOD, reasons={}, comment="Clear.")
    return {"ke": ke, "other": other, "assessment": assessment}


def _body(response) -> str:
    return (b"".join(response.streaming_content) if response.streaming else response.content).decode("utf-8", "replace")


def _assert_nothing_sensitive(response, where):
    assert response.status_code < 500, where
    body = _body(response)
    assert [secret for secret in SECRETS if secret in body] == [], where
    assert GENDER_LABEL not in body and GENDER not in body, where
    assert not SENSITIVE_LABELS.findall(body), where  # no column, filter or field for them


def _links(body: str) -> list[str]:
    """The query-string links of a change list: its filters, sort orders and pages."""
    return sorted({html.unescape(href) for href in re.findall(r'href="(\?[^"]*)"', body)})


def _walk_changelist(client, url):
    """The change list, every link on it (filters, sort orders), the filters' counts and every column sorted both ways."""
    response = client.get(url)
    assert response.status_code == 200, url
    _assert_nothing_sensitive(response, url)
    columns = len(response.context["cl"].list_display)
    seen = [url]
    queries = [
        *_links(_body(response)),
        "?_facets=True",
        *[f"?o={i}" for i in range(columns)],
        *[f"?o=-{i}" for i in range(columns)],
    ]
    for query in queries:
        page = url + query
        _assert_nothing_sensitive(client.get(page), page)
        seen.append(page)
    return seen


def test_an_assessor_sees_no_sensitive_value_on_any_page(client, cast, seeded):
    ke, assessment = seeded["ke"], seeded["assessment"]
    login_staff(client, cast.alice)
    seen = []
    for changelist in [
        "/admin/applications/application/",
        "/admin/applications/organisation/",
        "/admin/applications/assessment/",
    ]:
        seen += _walk_changelist(client, changelist)
    assert any("mine=" in url for url in seen) and any("state=" in url for url in seen)  # the walk followed the filters
    for url, status in [
        ("/admin/", 200),
        ("/admin/applications/", 200),
        (f"/admin/applications/application/{ke.pk}/change/", 200),
        (f"/admin/applications/application/{ke.pk}/assess/", 200),
        (f"/admin/applications/organisation/{ke.organisation_id}/change/", 200),
        (f"/admin/applications/assessment/{assessment.pk}/change/", 200),
        ("/admin/autocomplete/?app_label=applications&model_name=application&field_name=organisation&term=", 200),
        ("/admin/autocomplete/?app_label=applications&model_name=application&field_name=organisation&term=XYZZY", 200),
        ("/admin/autocomplete/?app_label=applications&model_name=application&field_name=organisation&term=%2B254", 200),
        # The audit history is the coordinator's.
        (f"/admin/applications/application/{ke.pk}/history/", 403),
        (f"/admin/applications/application/{ke.pk}/history/{ke.history.first().history_id}/", 403),
        (f"/admin/applications/organisation/{ke.organisation_id}/history/", 403),
        (f"/admin/applications/assessment/{assessment.pk}/history/", 403),
        (f"/admin/applications/assessment/{assessment.pk}/history/{assessment.history.first().history_id}/", 403),
        (EXPORT_URL, 403),
    ]:
        response = client.get(url)
        assert response.status_code == status, url
        _assert_nothing_sensitive(response, url)
    # The pages themselves are there, with what scoring needs.
    assert "Speaker of Kenya Forum" in _body(client.get(f"/admin/applications/application/{ke.pk}/assess/"))
    assert "Speaker of Kenya Forum" in _body(client.get(f"/admin/applications/application/{ke.pk}/change/"))


def test_an_assessor_has_no_sensitive_column_filter_or_field(client, cast, seeded):
    login_staff(client, cast.alice)
    cl = client.get("/admin/applications/application/").context["cl"]
    sensitive = {"speaker_gender", "speaker_phone", "speaker_email", "accessibility_needs"}
    assert sensitive.isdisjoint(cl.list_display)
    assert not any(isinstance(f, str) and "gender" in f for f in cl.list_filter)
    assert not any("speaker_phone" in f or "accessibility" in f for f in cl.search_fields)
    form = client.get(f"/admin/applications/application/{seeded['ke'].pk}/change/").context["adminform"].form
    assert sensitive.isdisjoint(form.fields)


@pytest.mark.parametrize(
    ("changelist", "lookup", "hit", "miss"),
    [
        ("application", "speaker_gender", GENDER, "man"),
        ("application", "speaker_gender__exact", GENDER, "man"),
        ("application", "speaker_gender__in", GENDER, "woman"),
        ("application", "speaker_phone__contains", "987", "555"),
        ("application", "speaker_phone__startswith", "+254", "+41"),
        ("application", "speaker_email__contains", "qwfp", "zzzz"),
        ("application", "accessibility_needs__icontains", "xyzzy", "nothing"),
        ("application", "accessibility_needs__isnull", "False", "True"),
        ("assessment", "application__speaker_gender__exact", GENDER, "man"),
        ("assessment", "application__speaker_phone__contains", "987", "555"),
        ("organisation", "applications__accessibility_needs__icontains", "xyzzy", "nothing"),
        ("organisation", "applications__speaker_gender", GENDER, "man"),
    ],
)
def test_an_assessor_cannot_filter_by_a_sensitive_field(client, cast, seeded, changelist, lookup, hit, miss):
    """A refused lookup is a 400, the same for a value that matches and one that does not: no count to bisect."""
    login_staff(client, cast.alice)
    url = f"/admin/applications/{changelist}/?{lookup}="
    matching, other = client.get(url + hit), client.get(url + miss)
    assert (matching.status_code, other.status_code) == (400, 400), url
    assert matching.content == other.content


@pytest.mark.parametrize("term", [PHONE, "700 123", "XYZZY", "step-free", SPEAKER_EMAIL, "qwfp", GENDER, GENDER_LABEL])
def test_an_assessor_finds_nothing_by_a_sensitive_value(client, cast, seeded, term):
    login_staff(client, cast.alice)
    for changelist in ("application", "organisation", "assessment"):
        response = client.get(f"/admin/applications/{changelist}/", {"q": term})
        assert response.status_code == 200
        assert response.context["cl"].result_count == 0, (changelist, term)
    found = client.get("/admin/applications/application/", {"q": "Kenya Forum"})
    assert found.context["cl"].result_count == 1  # search itself works


def test_the_coordinator_sees_the_sensitive_fields(client, cast, seeded):
    ke, other = seeded["ke"], seeded["other"]
    login_staff(client, cast.coordinator)
    change = _body(client.get(f"/admin/applications/application/{ke.pk}/change/"))
    for value in (PHONE, NEEDS, SPEAKER_EMAIL, GENDER_LABEL):
        assert value in change
    listing = client.get("/admin/applications/application/")
    assert "speaker_gender" in listing.context["cl"].list_display and GENDER_LABEL in _body(listing)
    women = client.get("/admin/applications/application/", {"speaker_gender__exact": GENDER})
    men = client.get("/admin/applications/application/", {"speaker_gender__exact": "man"})
    assert [a.pk for a in women.context["cl"].result_list] == [ke.pk]
    assert [a.pk for a in men.context["cl"].result_list] == [other.pk]
    assert GENDER_LABEL in _body(client.get(f"/admin/applications/application/{ke.pk}/assess/"))


# ---------------------------------------------------------------- export


def _export_fields(client) -> list[str]:
    """Every column checkbox of the export form, as "Select all" ticks them."""
    form = client.get(EXPORT_URL).context["form"]
    return [name for name, field in form.fields.items() if getattr(field, "is_selectable_field", False)]


def _export(client, file_format, *, sensitive=False, extra=()):
    data = {"format": file_format, **dict.fromkeys([*_export_fields(client), *extra], "on")}
    if sensitive:
        data["include_sensitive"] = "on"
    response = client.post(EXPORT_URL, data)
    assert response.status_code == 200, response.content[:500]
    assert response["Content-Disposition"].startswith("attachment")
    return response.content


def _csv_text(content: bytes) -> str:
    rows = list(csv.reader(io.StringIO(content.decode())))
    return "\n".join("|".join(row) for row in rows)


def _xlsx_text(content: bytes) -> str:
    sheet = openpyxl.load_workbook(io.BytesIO(content)).active
    return "\n".join("|".join("" if cell is None else str(cell) for cell in row) for row in sheet.iter_rows(values_only=True))


def _assert_no_sensitive_column(text):
    assert [secret for secret in SECRETS if secret in text] == []
    assert GENDER not in text and GENDER_LABEL not in text and "man|" not in text
    assert "speaker_gender" not in text and "speaker_phone" not in text and "accessibility_needs" not in text


def test_the_export_form_offers_the_sensitive_fields_unticked(client, cast, seeded):
    login_staff(client, cast.coordinator)
    response = client.get(EXPORT_URL)
    body = _body(response)
    assert "Include sensitive fields (gender, phone, accessibility needs)" in body
    checkbox = re.search(r'<input[^>]*name="include_sensitive"[^>]*>', body).group(0)
    assert "checked" not in checkbox
    assert not [name for name in _export_fields(client) if "gender" in name or "phone" in name or "accessibility" in name]


@pytest.mark.parametrize(("file_format", "read"), [(CSV_FORMAT, _csv_text), (XLSX_FORMAT, _xlsx_text)])
def test_an_export_leaves_the_sensitive_fields_out_unless_ticked(client, cast, seeded, file_format, read):
    login_staff(client, cast.coordinator)
    plain = read(_export(client, file_format))
    assert "Kenya Forum" in plain and "Nairobi Voices" in plain
    _assert_no_sensitive_column(plain)
    # Posting the columns' own checkboxes, without the box, is not enough.
    forced = [
        "applicationresource_speaker_gender",
        "applicationresource_speaker_phone",
        "applicationresource_accessibility_needs",
    ]
    _assert_no_sensitive_column(read(_export(client, file_format, extra=forced)))

    ticked = read(_export(client, file_format, sensitive=True))
    header = ticked.splitlines()[0].split("|")
    assert {"speaker_gender", "speaker_phone", "accessibility_needs"} <= set(header)
    assert PHONE in ticked and NEEDS in ticked and GENDER in ticked
    assert f"'{PHONE}" in ticked  # still guarded against formulas: a phone number starts with "+"


def test_every_export_is_recorded_in_the_audit_history(client, cast, seeded):
    login_staff(client, cast.coordinator)
    before = LogEntry.objects.count()
    _export(client, CSV_FORMAT)
    _export(client, XLSX_FORMAT, sensitive=True)
    plain, sensitive = LogEntry.objects.order_by("pk")[before:]
    application_type = ContentType.objects.get_for_model(Application)
    for entry in (plain, sensitive):
        assert (entry.user, entry.content_type, entry.action_flag, entry.object_id) == (
            cast.coordinator,
            application_type,
            ADDITION,
            None,
        )
    assert plain.object_repr == "Export of 2 application(s), CSV"
    assert plain.get_change_message().startswith("Exported 2 applications as CSV; columns: id, session, state,")
    assert plain.get_change_message().endswith("Without sensitive fields.")
    assert "speaker_phone" not in plain.get_change_message()
    assert sensitive.object_repr == "Export of 2 application(s), XLSX, with sensitive fields"
    assert "speaker_phone" in sensitive.get_change_message()
    assert sensitive.get_change_message().endswith("Sensitive fields (gender, phone, accessibility needs) included.")
    # The coordinator reads it in the admin's recent actions, and every coordinator in the audit log.
    assert "Export of 2 application(s), XLSX, with sensitive fields" in _body(client.get("/admin/"))
    log = _body(client.get("/admin/admin/logentry/?q=Export"))
    assert "Export of 2 application(s), XLSX, with sensitive fields" in log and "Export of 2 application(s), CSV" in log
    login_staff(client, cast.alice)
    assert client.get("/admin/admin/logentry/").status_code == 403


def test_a_filtered_export_records_its_own_count(client, cast, seeded):
    login_staff(client, cast.coordinator)
    data = {"format": CSV_FORMAT, **dict.fromkeys(_export_fields(client), "on")}
    response = client.post(EXPORT_URL + "?q=Nairobi", data)
    assert response.status_code == 200
    assert LogEntry.objects.latest("pk").object_repr == "Export of 1 application(s), CSV"


def test_no_export_no_record(client, cast, seeded):
    login_staff(client, cast.coordinator)
    client.get(EXPORT_URL)
    response = client.post(EXPORT_URL, {"format": CSV_FORMAT, "include_sensitive": "on"})  # no column ticked
    assert response.status_code == 200 and "attachment" not in response.get("Content-Disposition", "")
    assert LogEntry.objects.count() == 0


def test_an_assessor_cannot_export(client, cast, seeded):
    login_staff(client, cast.alice)
    for data in ({}, {"format": CSV_FORMAT, "include_sensitive": "on", "applicationresource_id": "on"}):
        response = client.post(EXPORT_URL, data)
        assert response.status_code == 403
        _assert_nothing_sensitive(response, EXPORT_URL)
    assert client.get(EXPORT_URL).status_code == 403
    assert LogEntry.objects.count() == 0
