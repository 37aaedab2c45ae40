import pytest
from django.core import mail
from django.core.exceptions import ValidationError

from applications.domain import send_link_again
from applications.tokens import make_token
from outbox.delivery import queue_email, render_message
from outbox.kinds import placeholders
from outbox.links import absolute
from outbox.models import Email, EmailTemplate
from outbox.sandbox import FILTERS, sandbox_context
from tests.factories import make_application, make_open_call, make_session

pytestmark = pytest.mark.django_db


def test_a_staff_edited_template_replaces_the_file_template(admin_client, django_capture_on_commit_callbacks):
    EmailTemplate.objects.create(
        name="panel-message",
        language="en",
        subject="Hello {{ review.name }}",
        body="Dear {{ organisation.name }},\nSee {{ link }} & more.",
    )
    subject, text, html = render_message(
        "panel-message", {"review": {"name": "Kenya"}, "organisation": {"name": "A & B"}, "link": "https://x.example/a"}, "en"
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
    body = admin_client.get(f"/admin/outbox/emailtemplate/{good.pk}/change/").content.decode()
    assert "Action requise : Kenya" in body and "Bonjour Example Human Rights Forum" in body
    assert "This template has an error" in admin_client.get(f"/admin/outbox/emailtemplate/{bad.pk}/change/").content.decode()


def test_an_inactive_template_is_ignored():
    EmailTemplate.objects.create(name="panel-message", language="en", subject="Old", body="Old", active=False)
    subject, _text, _html = render_message("panel-message", {"subject": "New", "body": "b"}, "en")
    assert subject == "New"


# ------------------------------------------------------------------ the sandbox

# What a staff member could once write to put every applicant's address, name and gender in one email.
LEAKY_LOOP = "{% for a in review.applications.all %}{{ a.email }} {{ a.speaker_name }} {{ a.speaker_gender }}{% endfor %}"
TAGS_REFUSED = "template tags are not allowed. Write only text and placeholders."


def test_the_admin_refuses_a_template_that_loops_over_the_applications(admin_client):
    response = admin_client.post(
        "/admin/outbox/emailtemplate/add/",
        {"name": "application-link", "language": "en", "active": "on", "subject": "Your link", "body": LEAKY_LOOP},
    )
    assert response.status_code == 200
    errors = response.context["adminform"].form.errors
    assert list(errors) == ["body"]
    body_errors = list(errors["body"])
    assert body_errors[:-1] == [
        f"{{% for %}}: {TAGS_REFUSED}",
        "{{ a.email }} is not a placeholder you can use.",
        "{{ a.speaker_name }} is not a placeholder you can use.",
        "{{ a.speaker_gender }} is not a placeholder you can use.",
        f"{{% endfor %}}: {TAGS_REFUSED}",
    ]
    assert body_errors[-1] == "Use only: " + ", ".join(f"{{{{ {name} }}}}" for name in placeholders()) + (
        ". Filters: date, time, default, upper, lower, capfirst, title."
    )
    assert "{{ a.email }} is not a placeholder you can use." in response.content.decode()
    assert EmailTemplate.objects.count() == 0


@pytest.mark.parametrize(
    ("field", "source", "message"),
    [
        ("body", "{% debug %}", f"{{% debug %}}: {TAGS_REFUSED}"),
        ("body", "{% load static %}", f"{{% load %}}: {TAGS_REFUSED}"),
        ("body", '{% include "emails/base.html" %}', f"{{% include %}}: {TAGS_REFUSED}"),
        ("body", "{% comment %}note{% endcomment %}", f"{{% comment %}}: {TAGS_REFUSED}"),
        ("body", "{% if link %}{{ link }}{% endif %}", f"{{% if %}}: {TAGS_REFUSED}"),
        ("body", "{# note #}", f"{{# … #}}: {TAGS_REFUSED}"),
        ("body", "{{ review.applications }}", "{{ review.applications }} is not a placeholder you can use."),
        ("body", "{{ review }}", "{{ review }} is not a placeholder you can use."),
        ("body", "{{ link.upper }}", "{{ link.upper }} is not a placeholder you can use."),
        ("body", '{{ "text" }}', '{{ "text" }} is not a placeholder you can use.'),
        ("body", "{{ link|safe }}", "{{ link|safe }}: the filter “safe” is not allowed."),
        ("body", "{{ link|nonsense }}", "{{ link|nonsense }} is not a placeholder you can use."),
        (
            "body",
            "{{ organisation.name|default:link }}",
            "{{ organisation.name|default:link }}: write the filter's argument in quotes; it cannot be a placeholder.",
        ),
        ("subject", "Your link: {{ link }}", "{{ link }} cannot be used in the subject: put links in the text."),
        ("subject", "{{ unsubscribe_url }}", "{{ unsubscribe_url }} cannot be used in the subject: put links in the text."),
        ("subject", "{{ confirm_link }}", "{{ confirm_link }} cannot be used in the subject: put links in the text."),
    ],
)
def test_a_template_may_use_only_text_placeholders_and_simple_filters(field, source, message):
    template = EmailTemplate(name="application-link", language="en", subject="Hello", body="Hello")
    setattr(template, field, source)
    with pytest.raises(ValidationError) as error:
        template.full_clean()
    assert list(error.value.message_dict) == [field]
    assert error.value.message_dict[field][0] == message
    assert error.value.message_dict[field][-1].startswith("Use only: {{ ")
    assert "{{ organisation.name }}, " in error.value.message_dict[field][-1]


def test_a_template_of_text_placeholders_and_filters_is_accepted():
    template = EmailTemplate(
        name="decision-selected",
        language="en",
        subject="Action required: {{ review.name|upper }} (UPR {{ session.number }})",
        body=(
            'Dear {{ organisation.name|default:"colleague" }}, 100% {sure}.\n{{ link }}\n'
            'Confirm before {{ member.confirmation_deadline|date:"j F Y, H:i" }}.'
        ),
    )
    template.full_clean()


def test_the_admin_lists_every_placeholder_the_sandbox_allows(admin_client):
    body = admin_client.get("/admin/outbox/emailtemplate/add/").content.decode()
    assert [name for name in placeholders() if f"<code>{{{{ {name} }}}}</code>" not in body] == []
    assert [name for name in FILTERS if f"<code>{name}</code>" not in body] == []


@pytest.fixture
def kenya():
    session = make_session(number=60, states=("KE",))
    make_open_call(session)
    return session.reviews.get()


def test_a_template_that_bypassed_the_checks_leaks_nothing_and_the_file_template_is_used(kenya, caplog):
    # Saved without clean(), as a row from before the sandbox, or written straight into the database.
    others = [make_application(kenya, name=f"Other {n}", gender="man") for n in range(2)]
    mine = make_application(kenya, name="Mine")
    EmailTemplate.objects.create(name="application-link", language="en", subject="Your link", body=LEAKY_LOOP)

    send_link_again(mine)

    email = Email.objects.get()
    assert email.to == mine.email
    assert email.subject == "The link to your application: Pre-session on Kenya"
    assert email.body_text.startswith("Someone tried to apply again for the Pre-session on Kenya")
    leaked = [
        value
        for other in others
        for value in (other.email, other.speaker_name)
        if value in email.subject + email.body_text + email.body_html
    ]
    assert leaked == []
    assert "is not allowed in the sandbox; the file template is used" in caplog.text


def test_a_staff_template_sees_its_recipients_plain_values_only(kenya):
    mine = make_application(kenya, name="Mine")
    EmailTemplate.objects.create(
        name="application-link",
        language="en",
        subject="Your application for {{ review.name }}",
        body="{{ organisation.name }} ({{ application.speaker_name }}): {{ link }}",
    )
    link = absolute("applications:detail", make_token(mine))
    context = {
        "application": mine,
        "organisation": mine.organisation,
        "review": kenya,
        "session": kenya.session,
        "call": kenya.session.call,
        "member": None,
        "link": link,
    }

    assert sandbox_context(context) == {
        "organisation": {"name": "Mine", "acronym": ""},
        "review": {"name": "Kenya"},
        "session": {"number": 60},
        "call": {"closes_at": kenya.session.call.closes_at},
        "application": {"speaker_name": "Speaker of Mine"},
        "link": link,
    }
    send_link_again(mine)
    email = Email.objects.get()
    assert (email.subject, email.body_text) == ("Your application for Kenya", f"Mine (Speaker of Mine): {link}\n")
