import datetime as dt
import re
import uuid

import pytest
from django.core import mail
from django.utils import timezone

from applications.enums import ApplicationStatus
from applications.models import Application
from outbox.models import Email
from tests.factories import application_post

pytestmark = pytest.mark.django_db


def _link_from(message) -> str:
    return re.search(r"https?://\S+/applications/(\S+?)/", message.body).group(0).split("127.0.0.1:8000")[-1]


def test_form_preselects_the_state_from_the_country_page(client, kenya):
    response = client.get("/sessions/60/apply/?state=KE")
    assert response.status_code == 200
    assert response.context["app_form"]["review"].value() == kenya.pk


def test_submitting_saves_the_application_and_emails_the_private_link(client, kenya, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post("/sessions/60/apply/", application_post(kenya))
    application = Application.objects.get()
    assert response.status_code == 302
    assert response["Location"] == "/sessions/60/apply/sent/"
    assert application.status == ApplicationStatus.SUBMITTED
    assert application.organisation.name == "Kenya Human Rights Forum"
    assert application.themes.count() == 2
    assert [m.to for m in mail.outbox] == [["contact@kenya-hr.example.org"]]
    assert "Application received" in mail.outbox[0].subject
    assert Email.objects.get().status == "sent"
    page = client.get(_link_from(mail.outbox[0]))
    assert page.status_code == 200
    assert "Kenya Human Rights Forum" in page.content.decode()


def test_the_confirmation_page_follows_the_redirect(client, kenya):
    response = client.post("/sessions/60/apply/", application_post(kenya), follow=True)
    body = response.content.decode()
    assert "Check your email" in body
    assert "private link to your application" in body


def test_draft_needs_only_the_state_and_email_and_emails_a_link(client, kenya, django_capture_on_commit_callbacks):
    data = {"action": "draft", "app-review": kenya.pk, "org-email": "Draft@Example.org", "org-name": "Half done"}
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post("/sessions/60/apply/", data)
    application = Application.objects.get()
    assert response.status_code == 302
    assert (application.status, application.email) == (ApplicationStatus.DRAFT, "draft@example.org")
    assert "draft" in mail.outbox[0].subject.lower()
    # Finish it from the emailed link.
    link = _link_from(mail.outbox[0])
    finish = client.post(link + "edit/", application_post(kenya, email="draft@example.org"))
    assert finish.status_code == 302
    application.refresh_from_db()
    assert application.status == ApplicationStatus.SUBMITTED
    assert application.submitted_at is not None


def test_edit_then_withdraw_through_the_private_link(client, kenya):
    client.post("/sessions/60/apply/", application_post(kenya))
    application = Application.objects.get()
    url = application.get_private_url()
    page = client.get(url + "edit/")
    assert page.status_code == 200
    assert "Police violence and the right to protest" in page.content.decode()  # the stored statement, ready to change
    response = client.post(url + "edit/", application_post(kenya, **{"app-statement_summary": "A new summary."}))
    assert response.status_code == 302
    application.refresh_from_db()
    assert application.statement_summary == "A new summary."
    assert client.get(url + "withdraw/").status_code == 200
    client.post(url + "withdraw/")
    application.refresh_from_db()
    assert application.status == ApplicationStatus.WITHDRAWN
    # A withdrawn application cannot be edited.
    refused = client.post(url + "edit/", application_post(kenya, **{"app-statement_summary": "Sneaky."}))
    assert refused.status_code == 302
    application.refresh_from_db()
    assert application.statement_summary == "A new summary."


def test_a_withdrawn_application_can_be_reopened_while_the_call_is_open(client, kenya):
    client.post("/sessions/60/apply/", application_post(kenya))
    application = Application.objects.get()
    client.post(application.get_private_url() + "withdraw/")
    client.post(application.get_private_url() + "reopen/")
    application.refresh_from_db()
    assert application.status == ApplicationStatus.DRAFT


@pytest.mark.parametrize(
    "mangle", [lambda t: t[:-1] + ("A" if t[-1] != "A" else "B"), lambda t: "nothing", lambda t: t.split(":")[0]]
)
def test_a_wrong_or_tampered_token_is_404(client, kenya, mangle):
    client.post("/sessions/60/apply/", application_post(kenya))
    token = Application.objects.get().get_private_url().split("/")[2]
    for suffix in ["", "edit/", "withdraw/"]:
        assert client.get(f"/applications/{mangle(token)}/{suffix}").status_code == 404


def test_a_valid_signature_for_an_unknown_key_is_404(client, kenya):
    from django.core import signing

    from applications.tokens import SALT

    assert client.get(f"/applications/{signing.Signer(salt=SALT).sign('no-such-key-xxxxxxxxxxxx')}/").status_code == 404


def test_a_double_submit_creates_one_application(client, kenya):
    data = application_post(kenya, **{"app-form_token": str(uuid.uuid4())})
    first = client.post("/sessions/60/apply/", data)
    second = client.post("/sessions/60/apply/", data)
    assert Application.objects.count() == 1
    assert first["Location"] == second["Location"]
    assert Email.objects.filter(kind="application-received").count() == 1


def test_applying_again_sends_the_existing_link_instead_of_a_duplicate(client, kenya):
    client.post("/sessions/60/apply/", application_post(kenya))
    again = client.post("/sessions/60/apply/", application_post(kenya, email="CONTACT@kenya-hr.example.org"))
    assert again.status_code == 302
    assert Application.objects.count() == 1
    assert Email.objects.filter(kind="application-link", to="contact@kenya-hr.example.org").count() == 1


@pytest.mark.parametrize("action", ["submit", "draft"])
def test_the_answer_does_not_tell_whether_an_email_has_applied(client, kenya, action):
    """Anyone can type anyone's address: the answer to a known address and to a new one is the same."""
    client.post("/sessions/60/apply/", application_post(kenya, email="known@example.org"))
    answers = []
    for email in ["known@example.org", "unknown@example.org"]:
        response = client.post("/sessions/60/apply/", {**application_post(kenya, email=email), "action": action})
        page = client.get(response["Location"])
        answers.append((response.status_code, response["Location"], page.status_code, page.content))
    assert answers[0] == answers[1]
    assert Email.objects.filter(kind="application-link", to="known@example.org").count() == 1


def test_the_same_organisation_may_apply_for_another_state(client, open_session):
    for code in ["KE", "TR"]:
        client.post("/sessions/60/apply/", application_post(open_session.reviews.get(country=code)))
    assert Application.objects.count() == 2


def test_the_honeypot_saves_nothing(client, kenya):
    response = client.post("/sessions/60/apply/", application_post(kenya, **{"app-contact_time": "buy now"}))
    assert response.status_code == 200
    assert Application.objects.count() == 0


def test_submissions_are_rate_limited_per_ip(client, kenya, settings):
    settings.APPLICATION_RATELIMIT = "2/h"  # an hour-long window: three quick posts never straddle two windows
    from django.core.cache import cache

    cache.clear()
    codes = [client.post("/sessions/60/apply/", {"action": "submit"}).status_code for _ in range(3)]
    assert codes == [200, 200, 429]


def test_the_language_of_the_applicant_is_stored_and_used_for_email(client, kenya, settings, django_capture_on_commit_callbacks):
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "fr"
    with django_capture_on_commit_callbacks(execute=True):
        client.post("/sessions/60/apply/", application_post(kenya))
    application = Application.objects.get()
    assert application.language == "fr"
    email = Email.objects.get()
    assert email.language == "fr"
    assert email.subject == "Candidature reçue : pré-session sur Kenya (EPU 60)"
    assert "Merci. Nous avons reçu la candidature" in mail.outbox[0].body


def test_nothing_personal_appears_on_public_pages(client, kenya):
    client.post("/sessions/60/apply/", application_post(kenya))
    for url in ["/", "/calendar/", "/countries/ke/", "/sessions/60/"]:
        body = client.get(url).content.decode()
        assert "Wanjiru" not in body and "kenya-hr.example.org" not in body, url


def test_closed_call_page_gives_the_dates(client, kenya):
    call = kenya.session.call
    call.opens_at, call.closes_at = timezone.now() - dt.timedelta(days=30), timezone.now() - dt.timedelta(days=1)
    call.save()
    response = client.get("/sessions/60/apply/")
    assert "Applications are not open" in response.content.decode()
    assert "The call for applications closed on" in response.content.decode()
    assert client.post("/sessions/60/apply/", application_post(kenya)).status_code == 200
    assert Application.objects.count() == 0


def test_call_not_yet_open_says_when_it_opens(client, kenya):
    call = kenya.session.call
    call.opens_at, call.closes_at = timezone.now() + dt.timedelta(days=3), timezone.now() + dt.timedelta(days=20)
    call.save()
    assert "The call for applications opens on" in client.get("/sessions/60/apply/").content.decode()


def test_the_cached_blank_form_follows_the_language_and_the_preselected_state(client, kenya, settings):
    english = client.get("/sessions/60/apply/?state=KE").content.decode()
    assert "Your organisation" in english and f'<option value="{kenya.pk}" selected>' in english
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "fr"
    french = client.get("/sessions/60/apply/").content.decode()
    assert "Votre organisation" in french and f'<option value="{kenya.pk}" selected>' not in french
    tokens = {client.get("/sessions/60/apply/").content.decode().split('name="app-form_token" value="')[1][:36] for _ in range(2)}
    assert len(tokens) == 2  # each visitor gets a fresh one-time token, outside the cached part


def _hidden(page: str, name: str) -> str:
    return re.search(rf'name="{name}" value="([^"]+)"', page).group(1)


def test_the_blank_form_is_served_from_the_cache_with_each_visitors_own_tokens(
    kenya, django_assert_num_queries, django_capture_on_commit_callbacks
):
    from django.test import Client

    Client().get("/sessions/60/apply/")  # the first visit renders and stores the page
    visitors = [Client(enforce_csrf_checks=True) for _ in range(2)]
    pages = []
    for visitor in visitors:
        with django_assert_num_queries(0):
            pages.append(visitor.get("/sessions/60/apply/").content.decode())
    assert "\x00" not in pages[0]
    assert _hidden(pages[0], "csrfmiddlewaretoken") != _hidden(pages[1], "csrfmiddlewaretoken")
    assert _hidden(pages[0], "app-form_token") != _hidden(pages[1], "app-form_token")
    # Each visitor's tokens from the cached page are accepted by the server.
    for number, (visitor, page) in enumerate(zip(visitors, pages, strict=True)):
        data = application_post(kenya, email=f"visitor{number}@example.org")
        data["csrfmiddlewaretoken"] = _hidden(page, "csrfmiddlewaretoken")
        data["app-form_token"] = _hidden(page, "app-form_token")
        with django_capture_on_commit_callbacks(execute=True):
            assert visitor.post("/sessions/60/apply/", data).status_code == 302
    assert Application.objects.filter(review=kenya).count() == 2
    assert len({a.form_token for a in Application.objects.all()}) == 2


def test_the_cached_form_is_not_served_after_the_call_closes(client, kenya):
    import time

    call = kenya.session.call
    call.closes_at = timezone.now() + dt.timedelta(seconds=1)
    call.save()
    assert "Submit application" in client.get("/sessions/60/apply/").content.decode()
    time.sleep(1.1)
    page = client.get("/sessions/60/apply/").content.decode()
    assert "Submit application" not in page and "closed" in page


def test_editing_a_theme_refreshes_the_cached_form(client, kenya, django_capture_on_commit_callbacks):
    from presessions.models import Theme

    client.get("/sessions/60/apply/")
    theme = Theme.objects.order_by("pk").first()
    theme.label = "Rights of people who live in the far north"
    with django_capture_on_commit_callbacks(execute=True):
        theme.save()
    assert "Rights of people who live in the far north" in client.get("/sessions/60/apply/").content.decode()


def test_a_form_with_errors_is_never_served_to_the_next_visitor(client, kenya):
    client.get("/sessions/60/apply/")
    bad = application_post(kenya)
    bad["org-email"] = "not an email"
    page = client.post("/sessions/60/apply/", bad).content.decode()
    assert "not an email" in page  # what they typed is kept
    assert "not an email" not in client.get("/sessions/60/apply/").content.decode()


def test_editing_the_email_tells_nothing_about_the_other_address(client, kenya, django_capture_on_commit_callbacks):
    """An applicant who types someone else's address learns nothing: the same answer, and only that address is told."""
    client.post("/sessions/60/apply/", application_post(kenya, email="other@example.org"))
    client.post("/sessions/60/apply/", application_post(kenya, email="mine@example.org"))
    mine = Application.objects.get(email="mine@example.org")
    edit = mine.get_private_url() + "edit/"
    answers = []
    for target in ["other@example.org", "free@example.org"]:
        response = client.post(edit, application_post(kenya, email=target), follow=True)
        text = response.content.decode().replace(target, "ADDRESS")
        answers.append((response.status_code, re.sub(r'name="csrfmiddlewaretoken" value="[^"]+"', "", text)))
    assert answers[0] == answers[1]
    mine.refresh_from_db()
    assert (mine.email, mine.pending_email) == ("mine@example.org", "free@example.org")
    assert Email.objects.filter(kind="email-change-confirm", to="other@example.org").count() == 1


def test_a_new_email_takes_effect_once_its_owner_confirms(client, kenya, django_capture_on_commit_callbacks):
    client.post("/sessions/60/apply/", application_post(kenya, email="old@example.org"))
    application = Application.objects.get()
    url_before = application.get_private_url()
    with django_capture_on_commit_callbacks(execute=True):
        client.post(application.get_private_url() + "edit/", application_post(kenya, email="New@Example.org"))
    application.refresh_from_db()
    assert (application.email, application.organisation.email) == ("old@example.org", "old@example.org")
    confirm = next(m for m in mail.outbox if m.to == ["new@example.org"])
    link = re.search(r"https?://\S+/applications/confirm-email/\S+?/", confirm.body).group(0).split("127.0.0.1:8000")[-1]
    assert application.get_private_url() not in confirm.body  # the new address gets no access before confirming
    assert "Use new@example.org" in client.get(link).content.decode()
    with django_capture_on_commit_callbacks(execute=True):
        assert "Email address changed" in client.post(link).content.decode()
    application.refresh_from_db()
    assert (application.email, application.organisation.email, application.pending_email) == (
        "new@example.org",
        "new@example.org",
        "",
    )
    assert [m.to for m in mail.outbox[-2:]] == [["new@example.org"], ["old@example.org"]]  # a new link; a notice
    assert client.get(url_before).status_code == 404  # the old private link stops working
    new_link = re.search(r"https?://\S+/applications/\S+?/", mail.outbox[-2].body).group(0).split("127.0.0.1:8000")[-1]
    assert client.get(new_link).status_code == 200
    assert client.post(link).status_code == 404  # a confirmation link works once


def test_confirming_an_address_that_has_applied_changes_nothing_and_sends_it_its_link(client, kenya):
    client.post("/sessions/60/apply/", application_post(kenya, email="other@example.org"))
    client.post("/sessions/60/apply/", application_post(kenya, email="mine@example.org"))
    mine = Application.objects.get(email="mine@example.org")
    client.post(mine.get_private_url() + "edit/", application_post(kenya, email="other@example.org"))
    mine.refresh_from_db()
    from applications.tokens import EMAIL_CHANGE_SALT, sign

    body = client.post(f"/applications/confirm-email/{sign(mine.pending_email_key, EMAIL_CHANGE_SALT)}/").content.decode()
    assert "This address has already applied" in body
    mine.refresh_from_db()
    assert (mine.email, mine.pending_email) == ("mine@example.org", "")
    assert Email.objects.filter(kind="application-link", to="other@example.org").count() == 1


def test_an_email_change_link_expires_after_three_days(client, kenya):
    client.post("/sessions/60/apply/", application_post(kenya, email="mine@example.org"))
    mine = Application.objects.get()
    client.post(mine.get_private_url() + "edit/", application_post(kenya, email="new@example.org"))
    Application.objects.filter(pk=mine.pk).update(pending_email_at=timezone.now() - dt.timedelta(days=3, minutes=1))
    mine.refresh_from_db()
    from applications.tokens import EMAIL_CHANGE_SALT, sign

    response = client.post(f"/applications/confirm-email/{sign(mine.pending_email_key, EMAIL_CHANGE_SALT)}/")
    assert response.status_code == 410
    mine.refresh_from_db()
    assert mine.email == "mine@example.org"
