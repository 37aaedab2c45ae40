"""
Coordinators read the outbox, but never an applicant's private link in full: whoever has the
link can act as the applicant. Each test puts real private links in the outbox (a confirmation
email, and a reminder whose List-Unsubscribe header holds a second signed link) and checks that
no staff page shows them, and that no list filter or search can guess them.
"""

import datetime as dt

import pytest
from django.utils import timezone

from applications import domain
from applications.models import Application
from applications.tokens import UNSUBSCRIBE_SALT, make_token, sign
from outbox.models import Email
from tests.factories import application_post, login_staff

pytestmark = pytest.mark.django_db


@pytest.fixture
def outbox(client, kenya, django_capture_on_commit_callbacks):
    """A submitted application's confirmation, and a draft's deadline reminder, in the outbox."""
    with django_capture_on_commit_callbacks(execute=True):
        client.post("/sessions/60/apply/", application_post(kenya))
        client.post("/sessions/60/apply/", {"action": "draft", "app-review": kenya.pk, "org-email": "draft@example.org"})
    kenya.session.call.closes_at = timezone.now() + dt.timedelta(days=3)
    kenya.session.call.save()
    assert domain.send_deadline_reminders() == 1
    submitted = Application.objects.get(status="submitted")
    draft = Application.objects.get(status="draft")
    return {
        "confirmation": Email.objects.get(kind="application-received"),
        "reminder": Email.objects.get(kind="deadline-reminder"),
        "token": make_token(submitted),
        "draft_token": make_token(draft),
        "unsubscribe_token": sign(draft.link_key, UNSUBSCRIBE_SALT),
    }


def _secrets(outbox):
    """Every secret part: each whole token, its key and its signature."""
    tokens = [outbox["token"], outbox["draft_token"], outbox["unsubscribe_token"]]
    return [part for token in tokens for part in (token, *token.split(":"))]


def test_the_outbox_never_shows_a_private_link_in_full(client, cast, outbox):
    confirmation, reminder = outbox["confirmation"], outbox["reminder"]
    # The links are really there, in the stored rows.
    assert outbox["token"] in confirmation.body_text and outbox["token"] in confirmation.body_html
    assert outbox["unsubscribe_token"] in reminder.headers["List-Unsubscribe"]
    login_staff(client, cast.coordinator)

    pages = {
        url: client.get(url)
        for url in [
            "/admin/outbox/email/",
            f"/admin/outbox/email/{confirmation.pk}/change/",
            f"/admin/outbox/email/{confirmation.pk}/history/",
            f"/admin/outbox/email/{reminder.pk}/change/",
        ]
    }

    assert {url: page.status_code for url, page in pages.items()} == dict.fromkeys(pages, 200)
    shown = {url: [s for s in _secrets(outbox) if s in page.content.decode()] for url, page in pages.items()}
    assert shown == dict.fromkeys(pages, [])
    confirmation_page = pages[f"/admin/outbox/email/{confirmation.pk}/change/"].content.decode()
    assert f"/applications/{outbox['token'][:6]}…/" in confirmation_page
    reminder_page = pages[f"/admin/outbox/email/{reminder.pk}/change/"].content.decode()
    assert f"List-Unsubscribe: &lt;http://127.0.0.1:8000/applications/{outbox['unsubscribe_token'][:6]}…/reminders-off/&gt;" in (
        reminder_page
    )


@pytest.mark.parametrize("lookup", ["body_text__contains", "body_html__startswith", "headers__icontains", "last_error__contains"])
def test_the_outbox_list_cannot_be_filtered_on_what_holds_a_private_link(client, cast, outbox, lookup):
    login_staff(client, cast.coordinator)
    # One character at a time, such a filter would spell out the link: 1 row for the right guess, 0 for a wrong one.
    assert client.get(f"/admin/outbox/email/?{lookup}={outbox['token'][:8]}").status_code == 400


def test_the_outbox_list_still_filters_and_searches_by_recipient_and_subject(client, cast, outbox):
    login_staff(client, cast.coordinator)

    def count(query):
        return client.get(f"/admin/outbox/email/?{query}").context["cl"].result_count

    assert count("status__exact=sent&kind__exact=application-received") == 1
    assert count("q=draft@example.org") == 2
    assert count("q=Reminder") == 1
    assert count(f"q={outbox['token'][:8]}") == 0
