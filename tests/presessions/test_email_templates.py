import pytest
from django.core import mail

from presessions.emails import queue_email, render_message
from presessions.models import EmailTemplate

pytestmark = pytest.mark.django_db


def test_a_staff_edited_template_replaces_the_file_template(admin_client, django_capture_on_commit_callbacks):
    EmailTemplate.objects.create(
        name="panel-message",
        language="en",
        subject="Hello {{ review.name }}",
        body="Dear {{ organisation }},\nSee {{ link }} & more.",
    )
    subject, text, html = render_message(
        "panel-message", {"review": {"name": "Kenya"}, "organisation": "A & B", "link": "https://x.example/a"}, "en"
    )
    assert subject == "Hello Kenya"
    assert text == "Dear A & B,\nSee https://x.example/a & more.\n"
    assert "A &amp; B" in html and 'href="https://x.example/a"' in html
    with django_capture_on_commit_callbacks(execute=True):
        queue_email(to="a@b.org", name="panel-message", context={"review": {"name": "Kenya"}}, language="en", dedupe_key="t1")
    assert mail.outbox[0].subject == "Hello Kenya"


def test_the_admin_previews_a_template_and_shows_errors(admin_client):
    good = EmailTemplate.objects.create(
        name="decision-selected",
        language="fr",
        subject="Action requise : {{ review.name }}",
        body="Bonjour {{ organisation.name }}",
    )
    bad = EmailTemplate.objects.create(name="decision-reserve", language="fr", subject="{% if %}", body="x")
    body = admin_client.get(f"/admin/presessions/emailtemplate/{good.pk}/change/").content.decode()
    assert "Action requise : Kenya" in body and "Bonjour Example Human Rights Forum" in body
    assert "This template has an error" in admin_client.get(f"/admin/presessions/emailtemplate/{bad.pk}/change/").content.decode()


def test_an_inactive_template_is_ignored():
    EmailTemplate.objects.create(name="panel-message", language="en", subject="Old", body="Old", active=False)
    subject, _text, _html = render_message("panel-message", {"subject": "New", "body": "b"}, "en")
    assert subject == "New"
