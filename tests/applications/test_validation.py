"""Each field's validation: a clear message next to the field, nothing saved, nothing typed lost."""

import datetime as dt

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from applications import domain
from applications.forms import ApplicationForm, OrganisationForm
from applications.models import Application
from tests.factories import PDF_BYTES, application_post

pytestmark = pytest.mark.django_db


def _post(client, kenya, files=None, **overrides):
    data = application_post(kenya, **overrides)
    if files:
        data.update(files)
    return client.post("/sessions/60/apply/", data)


def _errors(response, form):
    return {name: [str(e) for e in errors] for name, errors in response.context[form].errors.items()}


@pytest.mark.parametrize(
    ("form", "field", "value", "message"),
    [
        ("org_form", "name", "", "Enter the name of your organisation"),
        ("org_form", "name", "x" * 201, "Ensure this value has at most 200 characters (it has 201)."),
        ("org_form", "email", "", "Enter your organisation's email address"),
        ("org_form", "email", "not-an-email", "Enter an email address in the correct format, like name@example.org"),
        ("org_form", "website", "not a url", "Enter a web address in the correct format, like https://www.example.org"),
        ("org_form", "kind", "ministry", "Select a valid choice. ministry is not one of the available choices."),
        ("org_form", "scope", "", "Select the scope of your organisation's work"),
        ("org_form", "country", "XX", "Select a valid choice. XX is not one of the available choices."),
        ("org_form", "established_year", "nineteen", "Enter the year as 4 digits, like 1998"),
        ("org_form", "established_year", "1066", "Ensure this value is greater than or equal to 1800."),
        ("org_form", "aim", "word " * 201, "Use 200 words or fewer (you used 201)."),
        ("app_form", "review", "999999", "Choose one of the States reviewed in this session"),
        ("app_form", "review", "", "Choose the State your statement is about"),
        ("app_form", "statement_summary", "", "Enter a summary of your statement"),
        ("app_form", "statement_summary", "x" * 2001, "Ensure this value has at most 2000 characters (it has 2001)."),
        ("app_form", "speaker_name", "", "Enter the speaker's full name"),
        ("app_form", "speaker_gender", "", "Select the speaker's gender, or “Prefer not to say”"),
        ("app_form", "speaker_gender", "robot", "Select a valid choice. robot is not one of the available choices."),
        ("app_form", "speaker_email", "wanjiru@", "Enter an email address in the correct format, like name@example.org"),
        ("app_form", "working_language", "", "Select the speaker's working language"),
        ("app_form", "attendance", "", "Select how the speaker would attend"),
        ("app_form", "report_submitted", "", "Say whether your organisation submitted a UPR report"),
        ("app_form", "publication", "", "Choose what may be published if you are selected"),
        ("app_form", "consent_data", "", "You must agree to the processing of this information to apply"),
        ("app_form", "themes", [], "Choose at least one theme"),
        ("app_form", "themes", ["abc"], "“abc” is not a valid value."),
    ],
)
def test_field_errors_appear_next_to_the_field(client, kenya, form, field, value, message):
    prefix = "org" if form == "org_form" else "app"
    response = _post(client, kenya, **{f"{prefix}-{field}": value})
    assert response.status_code == 200
    assert message in _errors(response, form)[field]
    body = response.content.decode()
    assert "There is a problem" in body
    assert Application.objects.count() == 0


def test_more_than_three_themes_is_refused(client, kenya):
    from presessions.models import Theme

    response = _post(client, kenya, **{"app-themes": list(Theme.objects.values_list("pk", flat=True)[:4])})
    assert _errors(response, "app_form")["themes"] == ["Choose at most 3 themes"]


def test_member_count_must_be_a_whole_number_for_a_coalition(client, kenya):
    response = _post(client, kenya, **{"org-is_coalition": "on", "org-member_count": "twelve"})
    assert _errors(response, "org_form")["member_count"] == ["Enter the number of members as a whole number, like 12"]
    response = _post(client, kenya, **{"org-is_coalition": "on", "org-member_count": ""})
    assert _errors(response, "org_form")["member_count"] == ["Enter how many member organisations the coalition has"]


def test_nhri_must_give_its_accreditation(client, kenya):
    response = _post(client, kenya, **{"org-kind": "nhri", "org-nhri_status": ""})
    assert _errors(response, "org_form")["nhri_status"] == ["Select your institution's GANHRI accreditation status"]


def test_report_declared_needs_a_reference_or_file(client, kenya):
    response = _post(client, kenya, **{"app-report_reference": ""})
    assert _errors(response, "app_form")["report_reference"] == ["Give the report's title or reference, or upload it"]


def test_the_error_summary_links_to_each_field_in_page_order(client, kenya):
    response = _post(client, kenya, **{"app-review": "", "org-name": "", "app-speaker_gender": ""})
    anchors = [anchor for anchor, _message in response.context["errors"]]
    assert anchors == ["id_app-review", "id_org-name", "id_app-speaker_gender_0"]
    body = response.content.decode()
    assert 'href="#id_app-speaker_gender_0"' in body
    assert 'id="id_app-speaker_gender_0"' in body


def test_an_exe_renamed_to_pdf_is_refused_and_the_rest_is_kept(client, kenya):
    fake = SimpleUploadedFile("report.pdf", b"MZ\x90\x00\x03" + b"\x00" * 200, content_type="application/pdf")
    response = _post(client, kenya, files={"app-report_file": fake})
    assert _errors(response, "app_form")["report_file"] == ["The selected file must be a PDF."]
    body = response.content.decode()
    assert 'value="Kenya Human Rights Forum"' in body
    assert "Police violence and the right to protest" in body
    assert Application.objects.count() == 0


DAMAGED = (
    "The selected file could not be opened as a PDF: it may be damaged or incomplete. Save it again as a PDF and choose it again."
)


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"<!doctype html><html><body><p>%PDF-1.7 is the format we use.</p></body></html>", "The selected file must be a PDF."),
        (b"<html><script>alert(1)</script><!-- %PDF-1.4 -->" + PDF_BYTES, "The selected file must be a PDF."),  # a polyglot
        (PDF_BYTES[: len(PDF_BYTES) // 2], DAMAGED),  # cut short, as by a dropped connection
        (PDF_BYTES[:-7], DAMAGED),  # everything but its end
        (b"%PDF-1.4\n%%EOF\n", DAMAGED),  # a header and an end, nothing between
        (b"<html><body>hello</body></html>", "The selected file must be a PDF."),
    ],
)
def test_a_file_that_is_not_a_whole_pdf_is_refused_next_to_the_field_and_the_rest_is_kept(client, kenya, content, message):
    upload = SimpleUploadedFile("report.pdf", content, content_type="application/pdf")
    response = _post(client, kenya, files={"app-report_file": upload})
    assert _errors(response, "app_form")["report_file"] == [message]
    body = response.content.decode()
    assert 'value="Kenya Human Rights Forum"' in body and 'value="Wanjiru Kamau"' in body
    assert "Police violence and the right to protest" in body
    assert Application.objects.count() == 0


def test_a_file_over_10_mb_is_refused(client, kenya, settings):
    settings.APPLICATION_UPLOAD_MAX_BYTES = 1024 * 1024
    big = SimpleUploadedFile("big.pdf", PDF_BYTES + b"0" * 1024 * 1024, content_type="application/pdf")
    response = _post(client, kenya, files={"app-report_file": big})
    assert _errors(response, "app_form")["report_file"] == ["The file must be smaller than 1 MB."]


def test_a_pdf_is_stored_privately_under_a_random_name(client, kenya, admin_client):
    upload = SimpleUploadedFile("Our report (final).pdf", PDF_BYTES, content_type="application/pdf")
    _post(client, kenya, files={"app-report_file": upload})
    application = Application.objects.get()
    assert application.report_file.name.startswith("reports/")
    assert "final" not in application.report_file.name
    url = f"/staff/applications/{application.pk}/report.pdf"
    assert client.get(url).status_code == 302  # anonymous: to the login page
    response = admin_client.get(url)
    assert response.status_code == 200
    assert b"".join(response.streaming_content) == PDF_BYTES
    application.report_file.delete()


def test_a_draft_still_checks_what_is_filled_in(kenya, open_session):
    org_form = OrganisationForm({"org-email": "a@b.org", "org-website": "nope"}, draft=True)
    app_form = ApplicationForm({"app-review": kenya.pk}, session=open_session, draft=True)
    assert app_form.is_valid()
    assert not org_form.is_valid()
    assert list(org_form.errors) == ["website"]


@pytest.fixture
def submitted(client, kenya):
    client.post("/sessions/60/apply/", application_post(kenya))
    return Application.objects.get()


def _forms_for(application, **overrides):
    data = application_post(application.review, **overrides)
    org_form = OrganisationForm(data, instance=application.organisation)
    app_form = ApplicationForm(data, instance=application, session=application.review.session)
    assert org_form.is_valid() and app_form.is_valid()
    return org_form, app_form


def test_an_edit_at_the_last_second_before_the_close_is_saved(submitted):
    close = submitted.call.closes_at
    org_form, app_form = _forms_for(submitted, **{"app-statement_summary": "Last-second change."})
    domain.update_application(submitted, org_form=org_form, app_form=app_form, submit=True, now=close - dt.timedelta(seconds=1))
    submitted.refresh_from_db()
    assert submitted.statement_summary == "Last-second change."


def test_an_edit_at_the_close_itself_is_refused_and_nothing_changes(submitted):
    before = Application.objects.filter(pk=submitted.pk).values().get()
    org_form, app_form = _forms_for(submitted, **{"app-statement_summary": "Too late.", "org-name": "Renamed"})
    with pytest.raises(domain.CallNotOpen):
        domain.update_application(submitted, org_form=org_form, app_form=app_form, submit=True, now=submitted.call.closes_at)
    assert Application.objects.filter(pk=submitted.pk).values().get() == before
    submitted.organisation.refresh_from_db()
    assert submitted.organisation.name == "Kenya Human Rights Forum"


def test_a_new_application_at_the_close_is_refused(kenya, open_session):
    data = application_post(kenya)
    org_form, app_form = OrganisationForm(data), ApplicationForm(data, session=open_session)
    assert org_form.is_valid() and app_form.is_valid()
    with pytest.raises(domain.CallNotOpen):
        domain.create_application(
            org_form=org_form, app_form=app_form, draft=False, language="en", now=kenya.session.call.closes_at
        )
    assert Application.objects.count() == 0


def test_an_edit_posted_one_second_after_the_close_gives_the_answers_back(client, submitted):
    call = submitted.call
    call.closes_at = timezone.now() - dt.timedelta(seconds=1)
    call.save()
    response = client.post(
        submitted.get_private_url() + "edit/",
        application_post(submitted.review, **{"app-statement_summary": "Late but heartfelt"}),
        follow=True,
    )
    body = response.content.decode()
    assert "The call has closed" in body and "Late but heartfelt" in body
    submitted.refresh_from_db()
    assert submitted.statement_summary == "Police violence and the right to protest; three recommendations."


@pytest.mark.parametrize("value", ["9223372036854775808", "-1", "１２", "1e3", "²"])
def test_out_of_range_ids_are_refused_not_crashing(client, kenya, value):
    response = _post(client, kenya, **{"app-review": value, "app-themes": [value]})
    assert response.status_code == 200
    assert "review" in response.context["app_form"].errors
    assert "themes" in response.context["app_form"].errors


def test_a_request_larger_than_any_form_needs_is_refused_before_it_is_read(client, kenya, settings):
    settings.LANGUAGE_CODE = "en"
    body = b"x" * 1024  # what was actually sent: the refusal must not wait for the declared 60 MB
    response = client.generic(
        "POST",
        "/sessions/60/apply/",
        body,
        content_type="multipart/form-data; boundary=xyz",
        CONTENT_LENGTH=str(60 * 1024 * 1024),
    )
    assert response.status_code == 413
    assert "smaller than 10 MB" in response.content.decode() and "Back" in response.content.decode()
    assert Application.objects.count() == 0


@pytest.mark.parametrize(
    ("language", "heading", "label"),
    [
        ("en", "The call has closed", "Summary of the statement"),
        ("fr", "appel est clos", "Résumé de la déclaration"),
        ("es", "La convocatoria está cerrada", "Resumen de la declaración"),
    ],
)
def test_a_submission_after_the_close_gives_every_answer_back_in_the_applicants_language(
    client, kenya, settings, language, heading, label
):
    call = kenya.session.call
    call.closes_at = timezone.now() - dt.timedelta(minutes=1)
    call.save()
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = language
    upload = SimpleUploadedFile("our-report.pdf", PDF_BYTES, content_type="application/pdf")
    response = _post(client, kenya, files={"app-report_file": upload})
    body = response.content.decode()
    assert response.status_code == 200 and heading in body
    assert f'<html lang="{language}">' in body
    for typed in ["Kenya Human Rights Forum", "Wanjiru Kamau", "+254 700 000000", "Police violence and the right to protest"]:
        assert body.count(typed) >= 2, typed  # once in the list, once in the text to copy
    assert label in body and "our-report.pdf" in body and "Kenya" in body
    assert Application.objects.count() == 0


def test_a_pdf_of_too_many_pages_is_refused_quickly(client, kenya):
    import io
    import time

    from pypdf import PdfWriter

    writer = PdfWriter()
    for _ in range(2001):
        writer.add_blank_page(width=10, height=10)
    content = io.BytesIO()
    writer.write(content)
    upload = SimpleUploadedFile("long.pdf", content.getvalue(), content_type="application/pdf")
    started = time.monotonic()
    response = _post(client, kenya, files={"app-report_file": upload})
    assert time.monotonic() - started < 2  # the page tree is not walked
    assert _errors(response, "app_form")["report_file"] == ["The PDF has more than 2000 pages. Send a shorter document."]


def test_answers_given_back_without_the_database_are_still_readable(kenya):
    """When the database is away, the State and themes cannot be named, but every other answer reads as on the form."""
    from django.http import QueryDict

    from applications.answers import posted_answers

    data = QueryDict(mutable=True)
    for key, value in application_post(kenya).items():
        data.setlist(key, value if isinstance(value, list) else [value])
    answers = dict(posted_answers(data, {}, session=None))
    assert answers["Speaker's gender"] == "Woman"
    assert answers["Attendance"] == "In person, in Geneva"
    assert answers["Consents to the processing of this data"] == "Yes"
    assert answers["Summary of the statement"].startswith("Police violence")
    assert "contact_time" not in str(answers)  # the honeypot is not an answer
