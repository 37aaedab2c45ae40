"""Small builders for test data, with no surprises: every value is visible in the call."""

import datetime as dt

from django.utils import timezone

from presessions.models import Call, Cycle, Session, StateReview, call_close_moment, call_open_moment


def make_cycle(number=4):
    return Cycle.objects.get_or_create(number=number)[0]


def make_session(number=60, start=dt.date(2027, 5, 3), states=("KE", "FR"), **fields):
    session = Session.objects.create(
        number=number,
        cycle=make_cycle(),
        start_date=start,
        end_date=start + dt.timedelta(days=11) if start else None,
        **fields,
    )
    for order, code in enumerate(states, start=1):
        StateReview.objects.create(session=session, country=code, order=order)
    return session


def make_open_call(session, *, days_left=10):
    today = timezone.localdate()
    return Call.objects.create(
        session=session,
        opens_at=call_open_moment(today - dt.timedelta(days=5)),
        closes_at=call_close_moment(today + dt.timedelta(days=days_left)),
    )


# A real one-page PDF (made with pypdf's PdfWriter().add_blank_page()).
PDF_BYTES = (
    b"%PDF-1.3\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<<\n/Producer (pypdf)\n>>\nendobj\n2 0 obj\n<<\n/Type /Pages\n/Count 1\n"
    b"/Kids [ 4 0 R ]\n>>\nendobj\n3 0 obj\n<<\n/Type /Catalog\n/Pages 2 0 R\n>>\nendobj\n4 0 obj\n<<\n/Type /Page\n"
    b"/Resources <<\n>>\n/MediaBox [ 0.0 0.0 200 200 ]\n/Parent 2 0 R\n>>\nendobj\nxref\n0 5\n0000000000 65535 f \n"
    b"0000000015 00000 n \n0000000054 00000 n \n0000000113 00000 n \n0000000162 00000 n \ntrailer\n<<\n/Size 5\n"
    b"/Root 3 0 R\n/Info 1 0 R\n>>\nstartxref\n256\n%%EOF\n"
)


def application_post(review, *, action="submit", email="contact@kenya-hr.example.org", themes=None, **overrides):
    """The POST data of a complete, valid application form for `review`."""
    from presessions.models import Theme

    if themes is None:
        themes = list(Theme.objects.order_by("pk").values_list("pk", flat=True)[:2])
    data = {
        "action": action,
        "app-review": review.pk,
        "org-name": "Kenya Human Rights Forum",
        "org-acronym": "KHRF",
        "org-kind": "cso",
        "org-cso_form": "ngo",
        "org-country": review.country.code,
        "org-scope": "national",
        "org-website": "https://khrf.example.org",
        "org-email": email,
        "org-established_year": "1998",
        "org-aim": "We document human rights violations and support victims.",
        "app-report_submitted": "alone",
        "app-report_reference": "KHRF stakeholder submission, 4th cycle",
        "app-themes": themes,
        "app-statement_summary": "Police violence and the right to protest; three recommendations.",
        "app-speaker_name": "Wanjiru Kamau",
        "app-speaker_gender": "woman",
        "app-speaker_role": "Director",
        "app-speaker_email": "wanjiru@kenya-hr.example.org",
        "app-speaker_phone": "+254 700 000000",
        "app-working_language": "en",
        "app-attendance": "in_person",
        "app-consent_data": "on",
        "app-publication": "organisation",
        "app-form_token": "",
        "app-contact_time": "",
    }
    data.update(overrides)
    return {key: value for key, value in data.items() if value is not None}


def make_application(
    review,
    *,
    name="Org",
    email=None,
    kind="cso",
    scope="national",
    country=None,
    coalition=False,
    report="alone",
    gender="woman",
    status="submitted",
    screening="eligible",
    themes=(),
    website="",
    acronym="",
    match=False,
):
    """
    An application row, built directly (no email, no form): for review, panel and query-count tests.
    With `match`, the organisation is matched to earlier ones as a real application's is.
    """
    from applications.models import Application, Organisation

    email = email or f"{name.lower().replace(' ', '-')}-{Organisation.objects.count()}@example.org"
    organisation = Organisation.objects.create(
        name=name,
        kind=kind,
        scope=scope,
        country=country or review.country.code,
        is_coalition=coalition,
        member_count=10 if coalition else None,
        email=email,
        cso_form="ngo" if kind == "cso" else "",
        nhri_status="a" if kind == "nhri" else "",
        website=website,
        acronym=acronym,
    )
    if match:
        from applications import identity

        identity.attach(organisation)
    application = Application.objects.create(
        review=review,
        organisation=organisation,
        email=email,
        report_submitted=report,
        speaker_gender=gender,
        speaker_name=f"Speaker of {name}",
        status=status,
        screening=screening,
        consent_data=True,
        statement_summary="Summary.",
        submitted_at=timezone.now() if status == "submitted" else None,
    )
    if themes:
        application.themes.set(themes)
    return application


def login_staff(client, user):
    """Sign a staff member in as the two-step login would: password and a verified second factor."""
    import time

    from django_otp import DEVICE_ID_SESSION_KEY
    from django_otp.plugins.otp_totp.models import TOTPDevice

    device = TOTPDevice.objects.filter(user=user, confirmed=True).first() or TOTPDevice.objects.create(
        user=user, name="default", confirmed=True
    )
    client.force_login(user)
    session = client.session
    session[DEVICE_ID_SESSION_KEY] = device.persistent_id
    session["_last_seen"] = int(time.time())  # as if just active: the first request does not refresh the session
    session.save()
    return client


def sign_in(client, username: str, password: str, code: str | None = None):
    """
    Go through the real two-step staff login; return the last response.

    The code defaults to the current one of the account's authenticator (as `manage.py totp` prints it).
    """
    from django.contrib.auth import get_user_model

    from presessions.demo import current_code

    response = client.post(
        "/account/login/",
        {"login_view-current_step": "auth", "auth-username": username, "auth-password": password},
    )
    if response.status_code != 200 or b'name="token-otp_token"' not in response.content:
        return response
    user = get_user_model().objects.get(username=username)
    return client.post("/account/login/", {"login_view-current_step": "token", "token-otp_token": code or current_code(user)})


def send_decisions():
    """Approve and send every drafted decision email, as a coordinator does from the outbox."""
    from outbox.delivery import approve_drafts, send_approved, sweep_outbox
    from outbox.models import Email

    approve_drafts(Email.objects.filter(status="draft", kind__startswith="decision-"))
    send_approved(Email.objects.filter(status="approved"))
    sweep_outbox()


def confirm_speakers(*panels):
    """Send the decisions, then have every speaker of `panels` confirm: they are then public."""
    from panels import domain

    send_decisions()
    for panel in panels:
        for member in panel.members.filter(role="speaker", declined_at__isnull=True, confirmed_at__isnull=True):
            domain.confirm_participation(member, attends_training=True)


def close_call(session):
    """End the session's call a minute ago: decisions may then be made."""
    Call.objects.filter(session=session).update(closes_at=timezone.now() - dt.timedelta(minutes=1))


def finalise(panel, **kwargs):
    """Finalise a panel as staff do, after its call has closed."""
    from panels import domain

    close_call(panel.review.session)
    return domain.finalise_panel(panel, **kwargs)
