"""
Issue 18, visa support letters: a confirmed speaker asks from their private link, a coordinator
approves, the speaker downloads a PDF naming them, their organisation, the dates and the place, in
English or French (the test reads the PDF's text).
"""

import io

import pytest
from django.test import Client
from django.utils import formats, translation
from pypdf import PdfReader

from applications.tokens import make_token
from outbox.models import Email
from panels import visa
from panels.models import PanelMember, VisaLetter
from tests.factories import login_staff
from tests.panels.test_mission_attendance import week  # noqa: F401 -- a fixture

pytestmark = pytest.mark.django_db


def pdf_text(content: bytes) -> str:
    return " ".join(page.extract_text() for page in PdfReader(io.BytesIO(content)).pages)


@pytest.mark.parametrize("language", ["en", "fr"])
def test_a_confirmed_speaker_asks_the_coordinator_approves_and_the_letter_names_them(client, cast, week, language):  # noqa: F811
    member = (
        PanelMember.objects.filter(panel__review=week["ke"], role="speaker").select_related("application__organisation").first()
    )
    token = make_token(member.application)
    speaker = Client()
    page = speaker.get(f"/applications/{token}/participation/").content.decode()
    assert "A visa support letter" in page and "ask before" in page

    refused = speaker.post(f"/applications/{token}/participation/", {"form": "visa", "full_name": "", "language": language})
    assert refused.status_code == 400 and "Enter your name as it is written in your passport" in refused.content.decode()
    name = "Şükrü Nguyễn Thị Amani"
    speaker.post(
        f"/applications/{token}/participation/", {"form": "visa", "full_name": name, "nationality": "KE", "language": language}
    )
    letter = VisaLetter.objects.get(member=member)
    assert letter.status == "requested"
    assert speaker.get(f"/applications/{token}/visa-letter.pdf").status_code == 404  # not approved yet

    login_staff(client, cast.coordinator)
    assert name in client.get("/staff/sessions/60/visa-letters/").content.decode()
    client.post("/staff/sessions/60/visa-letters/", {"letter": letter.pk, "action": "approve"})
    letter.refresh_from_db()
    assert letter.status == "approved" and letter.decided_by == cast.coordinator

    response = speaker.get(f"/applications/{token}/visa-letter.pdf")
    assert response.status_code == 200 and response["Content-Type"] == "application/pdf"
    text = " ".join(pdf_text(response.content).split())
    timeline = week["session"].timeline
    with translation.override(language):
        start = formats.date_format(timeline.presessions_start, "DATE_FORMAT")
    assert name in text and member.application.organisation.name in text and start in text
    assert ("Palais des Nations, Geneva" if language == "en" else "Palais des Nations, Genève") in text
    assert ("invites" if language == "en" else "invite") in text


def test_a_refused_request_says_why_and_may_be_made_again(client, cast, week):  # noqa: F811
    member = PanelMember.objects.filter(panel__review=week["ke"], role="speaker").first()
    letter = visa.request_letter(member, full_name="A B", nationality="KE", language="en")
    login_staff(client, cast.coordinator)
    client.post("/staff/sessions/60/visa-letters/", {"letter": letter.pk, "action": "refuse", "reason": ""})
    letter.refresh_from_db()
    assert letter.status == "requested"  # a refusal needs a reason
    long = client.post(
        "/staff/sessions/60/visa-letters/", {"letter": letter.pk, "action": "refuse", "reason": "x" * 301}, follow=True
    )
    assert "Keep the reason under 300 characters" in long.content.decode()
    assert client.post("/staff/sessions/60/visa-letters/", {"letter": "²", "action": "approve"}).status_code == 302
    letter.refresh_from_db()
    assert letter.status == "requested"
    client.post("/staff/sessions/60/visa-letters/", {"letter": letter.pk, "action": "refuse", "reason": "Speaker is remote"})
    page = Client().get(f"/applications/{make_token(member.application)}/participation/").content.decode()
    assert "Your earlier request was refused: Speaker is remote" in page
    [told] = Email.objects.filter(kind="visa-letter-refused")
    assert "Speaker is remote" in told.body_text and "/participation/" in told.body_text
    again = visa.request_letter(member, full_name="A B C", nationality="KE", language="fr")
    assert again.status == "requested" and again.refusal_reason == ""
    with pytest.raises(visa.LetterNotAllowed):
        visa.request_letter(member, full_name="Twice", nationality="KE", language="en")
    visa.refuse(again, by=None, reason="Still no passport copy")
    assert Email.objects.filter(kind="visa-letter-refused").count() == 2  # each refusal is told
    again = visa.request_letter(member, full_name="A B C", nationality="KE", language="fr")
    visa.approve(again, by=None)
    with pytest.raises(ValueError):  # decided once
        visa.refuse(VisaLetter.objects.get(pk=again.pk), by=None, reason="late")


def test_only_a_confirmed_speaker_may_ask_and_a_late_one_is_warned(week, settings):  # noqa: F811
    from panels import domain
    from panels.models import PanelRules

    member = PanelMember.objects.filter(panel__review=week["ke"], role="speaker").first()
    PanelMember.objects.filter(pk=member.pk).update(confirmed_at=None)
    member.refresh_from_db()
    with pytest.raises(visa.LetterNotAllowed):
        visa.request_letter(member, full_name="A B", nationality="KE", language="en")
    domain.confirm_participation(member, attends_training=False)
    rules = PanelRules.for_session(week["session"])
    rules.visa_weeks_before = 52
    rules.save()
    page = Client().get(f"/applications/{make_token(member.application)}/participation/").content.decode()
    assert "The safe date to ask has passed" in page


def test_the_speaker_is_emailed_when_the_letter_is_approved(week):  # noqa: F811
    from outbox.models import Email

    member = PanelMember.objects.filter(panel__review=week["ke"], role="speaker").select_related("application").first()
    letter = visa.request_letter(member, full_name="A B", nationality="KE", language="en")
    visa.approve(letter, by=None)
    email = Email.objects.get(kind="visa-letter-ready")
    assert email.to in (member.application.speaker_email, member.application.email) and "/participation/" in email.body_text


def test_visa_data_goes_right_after_the_week_and_with_an_erasure(week):  # noqa: F811
    import datetime as dt

    from django.utils import timezone

    from applications import privacy

    members = list(PanelMember.objects.filter(panel__review=week["ke"], role="speaker"))
    visa.request_letter(members[0], full_name="Passport Name One", nationality="KE", language="en")
    visa.request_letter(members[1], full_name="Passport Name Two", nationality="KE", language="en")
    privacy.erase_applications([members[1].application_id])
    assert list(VisaLetter.objects.values_list("full_name", flat=True)) == ["Passport Name One"]
    end = privacy.presession_end(week["session"])
    privacy.purge(now=timezone.make_aware(dt.datetime.combine(end, dt.time(12))))
    assert VisaLetter.objects.count() == 1  # not before the week has ended
    report = privacy.purge(now=timezone.make_aware(dt.datetime.combine(end + dt.timedelta(days=1), dt.time(12))))
    assert report.counts["visa_letters"] == 1 and not VisaLetter.objects.exists()


def test_no_letter_for_a_speaker_who_declined_or_comes_remotely(client, cast, week):  # noqa: F811
    from applications.models import Application
    from panels import domain

    first, second = list(PanelMember.objects.filter(panel__review=week["ke"], role="speaker").select_related("application"))[:2]
    letter = visa.request_letter(first, full_name="A B", nationality="KE", language="en")
    domain.decline_participation(first, reason="cannot travel")
    with pytest.raises(ValueError):
        visa.approve(letter, by=cast.coordinator)
    login_staff(client, cast.coordinator)
    assert "(declined)" in client.get("/staff/sessions/60/visa-letters/").content.decode()

    approved = visa.request_letter(second, full_name="C D", nationality="KE", language="en")
    visa.approve(approved, by=cast.coordinator)
    token = make_token(second.application)
    assert Client().get(f"/applications/{token}/visa-letter.pdf").status_code == 200
    Application.objects.filter(pk=second.application_id).update(attendance="remote")
    assert Client().get(f"/applications/{token}/visa-letter.pdf").status_code == 404  # no longer coming in person
    third = PanelMember.objects.filter(panel__review=week["tr"], role="speaker").select_related("application").first()
    Application.objects.filter(pk=third.application_id).update(attendance="remote")
    third.refresh_from_db()
    with pytest.raises(visa.LetterNotAllowed):
        visa.request_letter(third, full_name="E F", nationality="TR", language="en")


def test_a_broken_letter_text_is_refused_when_saved_and_never_breaks_a_letter(week):  # noqa: F811
    from django.core.exceptions import ValidationError

    from panels.models import VisaLetterText

    for text in ("Dear }", "{0}", "{name.upper}", "{dates:>20000}", "{password}"):
        with pytest.raises(ValidationError):
            VisaLetterText(language="en", body=text).full_clean()
    VisaLetterText.objects.create(language="en", body="Broken {")  # saved before the check existed
    member = PanelMember.objects.filter(panel__review=week["ke"], role="speaker").first()
    letter = visa.request_letter(member, full_name="Amani Wekesa", nationality="KE", language="en")
    assert "Amani Wekesa" in visa.letter_text(letter) and "invites" in visa.letter_text(letter)  # the built-in text
    VisaLetterText.objects.update(body="We invite {name} from {start} to {end}.")
    assert visa.letter_text(letter).startswith("We invite Amani Wekesa from ")


@pytest.mark.parametrize("name", ["张伟", "محمد علي", "Amani 김"])
def test_a_name_the_letter_cannot_print_is_refused_with_the_way_out(week, name):  # noqa: F811
    member = PanelMember.objects.filter(panel__review=week["ke"], role="speaker").first()
    page = Client().post(
        f"/applications/{make_token(member.application)}/participation/",
        {"form": "visa", "full_name": name, "nationality": "CN", "language": "en"},
    )
    assert page.status_code == 400 and "Write your name in Latin letters" in page.content.decode()
    assert not VisaLetter.objects.exists()
