"""The whole journey in a real browser, for the three kinds of user, with a screenshot of every step."""

import csv
import io
import re
import time
import uuid

import pytest
from icalendar import Calendar

from tests.e2e.conftest import note

pytestmark = [pytest.mark.services]

AXE = str(__import__("pathlib").Path(__file__).parent / "vendor" / "axe.min.js")
FORM_BUDGET, SCHEDULE_BUDGET = 60 * 1024, 40 * 1024


def _session_number(stack) -> str:
    return stack["manage"](
        "shell", "-c", "from presessions.models import Call; print(Call.objects.order_by('-opens_at').first().session.number)"
    ).split()[-1]


def _fill_application(page, *, state: str, email: str, organisation: str):
    page.select_option("#id_app-review", label=state)
    page.get_by_label("Name of the organisation").fill(organisation)
    page.get_by_label("Civil society organisation (CSO)").check()
    page.select_option("#id_org-cso_form", label="Non-governmental organisation")
    page.select_option("#id_org-country", label=state)
    page.get_by_label("National", exact=True).check()
    page.get_by_label("Contact email").fill(email)
    page.get_by_label("Yes, on our own").check()
    page.get_by_label("Report reference or title").fill("Stakeholder submission, 4th cycle")
    page.locator("input[name='app-themes']").nth(0).check()
    page.locator("input[name='app-themes']").nth(1).check()
    page.get_by_label("Summary of the statement").fill(
        "Freedom of assembly and detention conditions, with three recommendations."
    )
    page.get_by_label("Speaker's full name").fill("Afi Mensah")
    page.get_by_label("Woman", exact=True).check()
    page.get_by_label("Speaker's role in the organisation").fill("President")
    page.get_by_label("Speaker's email").fill(email)
    page.locator("#id_app-working_language_0").check()
    page.get_by_label("In person, in Geneva").check()
    page.get_by_label("I agree that UPR Info stores").check()
    page.get_by_label("The organisation's name only").check()


def _link(message: str) -> str:
    return re.search(r"(https?://127\.0\.0\.1:\d+/applications/[^\s/]+/)", message).group(1)


_USED_CODES: dict[str, str] = {}


def _login(page, base, username, password, stack):
    """
    The two-step staff login: password, then the current code of the demo account's authenticator.

    A code is accepted once only (django-otp refuses a replay), so a second login waits for the next one.
    """

    def current() -> str:
        # The stack runs with DEBUG off, where `manage.py totp` refuses to print codes.
        script = (
            "from django.contrib.auth.models import User; from presessions.demo import current_code; "
            f"print(current_code(User.objects.get(username='{username}')))"
        )
        return stack["manage"]("shell", "-c", script).split()[-1]

    code = current()
    for _ in range(40):
        if code != _USED_CODES.get(username):
            break
        time.sleep(1)
        code = current()
    _USED_CODES[username] = code
    page.goto(base + "/admin/")
    page.fill("#id_auth-username", username)
    page.fill("#id_auth-password", password)
    page.get_by_role("button", name="Continue").click()
    page.fill("#id_token-otp_token", code)
    page.get_by_role("button", name="Continue").click()
    page.wait_for_url(re.compile(r".*/admin/.*"))


def _weight(page, url) -> int:
    """Bytes on the wire (compressed bodies plus headers) to load `url` with its CSS and JS, from the browser's own timing."""
    page.goto(url, wait_until="load")
    return page.evaluate(
        "() => performance.getEntriesByType('navigation').concat(performance.getEntriesByType('resource'))"
        ".reduce((total, entry) => total + entry.transferSize, 0)"
    )


def test_the_whole_journey(stack, page_factory):
    base, sink = stack["base"], stack["sink"]
    number = _session_number(stack)
    email_js, email_nojs = f"ltdh-{uuid.uuid4().hex[:6]}@example.org", f"nojs-{uuid.uuid4().hex[:6]}@example.org"

    # 1. An applicant finds the call and applies, with JavaScript on.
    page, steps = page_factory("1-applicant-js")
    page.goto(base + "/")
    steps.shot("home")
    page.get_by_role("link", name="Apply to speak").first.click()
    steps.shot("form")
    _fill_application(page, state="Togo", email=email_js, organisation="Ligue togolaise des droits de l'homme")
    page.get_by_role("button", name="Submit application").click()
    page.get_by_role("heading", name="Check your email").wait_for()
    steps.shot("submitted")

    # 2. The confirmation arrives through the worker and the SMTP server; the applicant edits through the link.
    message = sink.find(rf"(?s)(?=.*To: {re.escape(email_js)})(?=.*Application received)")
    page.goto(_link(message))
    page.get_by_role("link", name="Change the application").click()
    page.get_by_label("Summary of the statement").fill("EDITED: assembly, detention and the press.")
    page.get_by_role("button", name="Save changes").click()
    page.get_by_text("Your changes are saved.").wait_for()
    assert "EDITED: assembly" in page.content()
    steps.shot("edited")

    # 3. Another applicant applies with JavaScript off.
    page, steps = page_factory("2-applicant-nojs", java_script_enabled=False)
    page.goto(f"{base}/sessions/{number}/apply/?state=TG")
    _fill_application(page, state="Togo", email=email_nojs, organisation="Collectif des associations contre l'impunité au Togo")
    page.get_by_role("button", name="Submit application").click()
    page.get_by_role("heading", name="Check your email").wait_for()
    steps.shot("submitted-without-js")
    sink.find(rf"To: {re.escape(email_nojs)}")

    # 4. An assessor scores (a coordinator assigned Togo and screened the new applications).
    stack["manage"](
        "shell",
        "-c",
        "from django.contrib.auth.models import User; from applications.models import Application, AssessorAssignment; "
        "from presessions.models import StateReview; "
        f"review = StateReview.objects.get(session__number={number}, country='TG'); "
        "AssessorAssignment.objects.get_or_create(assessor=User.objects.get(username='assessor'), review=review); "
        f"Application.objects.filter(email__in=['{email_js}', '{email_nojs}']).update(screening='eligible')",
    )
    page, steps = page_factory("3-assessor")
    _login(page, base, "assessor", stack["passwords"]["assessor"], stack)
    page.goto(base + "/admin/applications/application/assess/next/")
    steps.shot("assessment-page")
    page.locator("input[name='mark_quality'][value='4']").check()
    page.get_by_role("button", name="Save and go to next").click()
    page.get_by_text("Your assessment is saved.").wait_for()
    steps.shot("assessed")

    # 5. The coordinator composes the panels, approves and sends the decisions.
    page, steps = page_factory("4-coordinator")
    _login(page, base, "coordinator", stack["passwords"]["coordinator"], stack)
    page.goto(f"{base}/staff/sessions/{number}/panels/")
    page.get_by_role("button", name="Compose every panel").click()
    steps.shot("panels")
    page.get_by_role("link", name="Togo").click()
    steps.shot("panel-togo")
    page.get_by_role("button", name="Finalise and draft the decision emails").click()
    # Finalising asks first; the demo's call is still open, so it wants the reason for not waiting.
    page.get_by_label("Why decide before the call closes?").fill("The journey test cannot wait for the close")
    steps.shot("finalise-confirm")
    page.get_by_role("button", name="Yes, finalise and draft the decisions").click()
    page.get_by_text("Panel finalised.").wait_for()
    page.goto(base + "/admin/outbox/email/?status__exact=draft")
    page.check("#action-toggle")
    page.select_option("select[name=action]", "approve")
    page.get_by_role("button", name="Go").click()
    page.goto(base + "/admin/outbox/email/?status__exact=approved")
    page.check("#action-toggle")
    page.select_option("select[name=action]", "send")
    page.get_by_role("button", name="Go").click()
    page.get_by_text(re.compile(r"emails? will be sent")).wait_for()
    steps.shot("confirm-send")
    before = len(sink.messages)  # the demo's past session has selection emails of its own
    page.get_by_role("button", name="Yes, send them").click()
    page.get_by_text("handed to the mail queue").wait_for()
    steps.shot("sent")

    # 6. A selected speaker confirms through the link in the selection email.
    selected = sink.find(
        r"Action\s+required:\s+confirm\s+your\s+participation\s+in\s+the\s+Pre-session\s+on\s+Togo", after=before
    )
    page, steps = page_factory("5-speaker")
    page.goto(_link(selected) + "participation/")
    page.get_by_label("Yes, I confirm").check()
    page.locator("#id_training_0").check()
    page.get_by_role("button", name="Send my answer").click()
    page.get_by_text("your participation is confirmed").wait_for()
    steps.shot("confirmed")

    # 7. The coordinator builds and publishes the week.
    page, steps = page_factory("6-coordinator-schedule")
    _login(page, base, "coordinator", stack["passwords"]["coordinator"], stack)
    page.goto(f"{base}/staff/sessions/{number}/schedule/")
    page.get_by_role("button", name="Build the week").click()
    page.get_by_role("button", name="Publish this version").click()
    page.get_by_text("is published").wait_for()
    steps.shot("published")

    # 8. A permanent mission reads the schedule and downloads the ICS.
    page, steps = page_factory("7-mission")
    page.goto(f"{base}/sessions/{number}/schedule/")
    assert "Togo" in page.content()
    steps.shot("schedule")
    with page.expect_download() as download:
        page.get_by_role("link", name="Add to your calendar (ICS)").first.click()
    calendar = Calendar.from_ical(open(download.value.path(), "rb").read())
    events = calendar.walk("VEVENT")
    assert events and all(str(e.decoded("dtstart").tzinfo) == "Europe/Zurich" for e in events)
    note(f"step 7-mission: downloaded the ICS, {len(events)} events in Europe/Zurich")


def test_page_weights_for_slow_connections(stack, page_factory):
    base = stack["base"]
    number = _session_number(stack)
    page, _steps = page_factory("weights", extra_http_headers={"Accept-Encoding": "gzip, br"})
    form = _weight(page, f"{base}/sessions/{number}/apply/")
    page, _steps = page_factory("weights-2", extra_http_headers={"Accept-Encoding": "gzip, br"})
    schedule = _weight(page, f"{base}/sessions/{number}/schedule/")
    note(f"page weight: application form {form / 1024:.1f} KB (budget 60 KB), schedule {schedule / 1024:.1f} KB (budget 40 KB)")
    assert form <= FORM_BUDGET
    assert schedule <= SCHEDULE_BUDGET


def test_the_form_works_with_the_keyboard_alone(stack, page_factory):
    base = stack["base"]
    number = _session_number(stack)
    page, steps = page_factory("8-keyboard")
    page.goto(f"{base}/sessions/{number}/apply/?state=TG")
    email = f"keyboard-{uuid.uuid4().hex[:6]}@example.org"
    text = {
        "org-name": "Keyboard Rights Network",
        "org-email": email,
        "app-report_reference": "JS4",
        "app-statement_summary": "Typed with the keyboard only.",
        "app-speaker_name": "Kofi Mensah",
        "app-speaker_role": "Coordinator",
        "app-speaker_email": email,
    }
    selects = {"org-cso_form": "Non", "org-country": "Togo"}
    radios = {
        "org-scope": 0,
        "app-report_submitted": 1,
        "app-speaker_gender": 1,
        "app-working_language": 0,
        "app-attendance": 0,
        "app-publication": 1,
    }
    checks = {"app-consent_data"}
    themes_checked = 0
    done_radios = set()
    for _ in range(400):
        page.keyboard.press("Tab")
        focused = page.evaluate(
            "() => ({name: document.activeElement.name || '', type: document.activeElement.type || '', tag: document.activeElement.tagName, text: document.activeElement.innerText || ''})"
        )
        name, kind = focused["name"], focused["type"]
        if focused["tag"] == "BUTTON" and "Submit application" in focused["text"]:
            page.keyboard.press("Enter")
            break
        if name in text:
            page.keyboard.type(text[name])
        elif name in selects:
            page.keyboard.type(selects[name])
        elif kind == "radio" and name in radios and name not in done_radios:
            for _step in range(radios[name]):
                page.keyboard.press("ArrowDown")
            page.keyboard.press("Space")
            done_radios.add(name)
        elif kind == "checkbox" and (name in checks or (name == "app-themes" and themes_checked < 2)):
            page.keyboard.press("Space")
            themes_checked += name == "app-themes"
    page.get_by_role("heading", name="Check your email").wait_for()
    steps.shot("submitted-by-keyboard")


PUBLIC_PAGES = ["/", "/calendar/", "/calendar/?q=Kenya", "/countries/ke/", "/faq/", "/about/", "/alerts/", "/in-figures/"]


@pytest.mark.parametrize("language", ["en", "fr", "es"])
def test_axe_finds_no_serious_violation_on_public_pages(stack, page_factory, language):
    base = stack["base"]
    number = _session_number(stack)
    # axe is injected as an inline script, which the site's own Content-Security-Policy forbids.
    page, steps = page_factory(f"9-axe-{language}", bypass_csp=True)
    page.context.add_cookies([{"name": "django_language", "value": language, "url": base}])
    urls = [*PUBLIC_PAGES, f"/sessions/{number}/", f"/sessions/{number}/apply/", f"/sessions/{number}/schedule/"]
    urls += [f"/sessions/{number}/apply/sent/", "/account/login/"]
    past = _past_session_number(stack)  # the demo's session whose Pre-sessions are over
    urls += [f"/sessions/{past}/schedule/", f"/sessions/{past}/schedule/attend/", f"/sessions/{past}/schedule/changes/"]
    problems = {}
    for url in urls:
        page.goto(base + url)
        problems[url] = _axe(page)
    # The form in its error state.
    page.goto(f"{base}/sessions/{number}/apply/")
    page.get_by_role("button", name=re.compile("Submit|Envoyer|Enviar")).first.click()
    page.locator("[data-error-summary]").wait_for()
    steps.shot("form-errors")
    problems["form with errors"] = _axe(page)
    serious = {url: found for url, found in problems.items() if found}
    note(f"axe ({language}): {len(urls) + 1} pages, serious or critical violations: {sum(len(v) for v in serious.values())}")
    assert serious == {}


def _axe(page) -> list[dict]:
    page.add_script_tag(path=AXE)
    violations = page.evaluate(
        "async () => (await axe.run(document, {resultTypes: ['violations']})).violations"
        ".map(v => ({id: v.id, impact: v.impact, nodes: v.nodes.map(n => n.target.join(' ')).slice(0, 3)}))"
    )
    return [v for v in violations if v["impact"] in ("serious", "critical")]


def _past_session_number(stack) -> str:
    """The demo's session whose Pre-sessions are over; its meetings are moved a year ahead, so missions may answer for them."""
    script = (
        "import datetime; from django.utils import timezone; from panels.demo import past_session; "
        "s = past_session(datetime.date.today()) or past_session(datetime.date.today() + datetime.timedelta(days=800)); "
        "[r.__class__.objects.filter(pk=r.pk).update(meeting_date=r.meeting_date + datetime.timedelta(days=364)) "
        " for r in s.reviews.filter(meeting_date__lt=timezone.localdate())]; print(s.number)"
    )
    return stack["manage"]("shell", "-c", script).split()[-1]


def test_a_mission_registers_and_is_checked_in_on_a_phone(stack, page_factory):
    """Issue 18: double opt-in without an account, then the check-in at the door on a 375 px screen, checked by axe."""
    base, sink = stack["base"], stack["sink"]
    number = _past_session_number(stack)
    email = f"delegate-{uuid.uuid4().hex[:6]}@mission.example.org"

    page, steps = page_factory("10-mission", bypass_csp=True)
    # The schedule links to this page while its published meetings are to come; the demo's are over
    # (their dates were moved ahead without a new release), so go straight to it.
    page.goto(f"{base}/sessions/{number}/schedule/attend/")
    assert _axe(page) == []
    page.select_option("#id_mission", label="Iceland")
    page.get_by_label("Your email address").fill(email)
    inputs = page.locator("input.delegates")
    inputs.nth(0).fill("2")
    inputs.nth(1).fill("1")
    first_meeting = page.locator("label[for^='id_meeting-']").nth(0).inner_text().split(" – ")[0]
    steps.shot("answer")
    page.get_by_role("button", name="Send").click()
    page.get_by_role("heading", name="Check your email").wait_for()
    message = sink.find(rf"(?s)(?=.*To: {re.escape(email)})(?=.*Iceland)")
    link = re.search(r"(https?://127\.0\.0\.1:\d+/mission-attendance/[^\s/]+/)", message).group(1)
    page.goto(link)
    page.get_by_role("button", name="Confirm").click()
    page.get_by_text("Confirmed. Thank you: we expect you.").wait_for()
    steps.shot("confirmed")
    assert _axe(page) == []

    # The meetings are over a year ahead (see _past_session_number); attendance is recorded from the meeting's day on.
    stack["manage"](
        "shell",
        "-c",
        "from django.utils import timezone; from presessions.models import StateReview; "
        f"StateReview.objects.filter(session__number={number}, meeting_date__gt=timezone.localdate())"
        ".update(meeting_date=timezone.localdate())",
    )
    staff, steps = page_factory("11-check-in", bypass_csp=True)
    staff.set_viewport_size({"width": 375, "height": 740})
    _login(staff, base, "coordinator", stack["passwords"]["coordinator"], stack)
    staff.goto(f"{base}/staff/sessions/{number}/attendance/")
    row = staff.locator("tr", has=staff.locator("th", has_text=re.compile(rf"^{re.escape(first_meeting)}$")))
    announced = int(row.locator("td").nth(1).inner_text())
    assert announced >= 1
    visits_before = _record_visits(staff, base, number)
    row.get_by_role("link", name="Check in").click()
    steps.shot("door")
    assert _axe(staff) == []
    assert staff.evaluate("() => document.documentElement.scrollWidth") <= 375  # no sideways scrolling on a phone
    staff.get_by_role("button", name="Came – Iceland").click()
    staff.get_by_role("button", name="Undo – Iceland").wait_for()
    steps.shot("checked-in")
    door = staff.url
    for language in ("fr", "es"):  # the new staff page on a phone, in the other languages
        staff.context.add_cookies([{"name": "django_language", "value": language, "url": base}])
        staff.goto(door)
        assert f'lang="{language}"' in staff.content()
        assert _axe(staff) == [], language
    staff.context.add_cookies([{"name": "django_language", "value": "en", "url": base}])
    staff.goto(f"{base}/staff/sessions/{number}/attendance/")
    row = staff.locator("tr", has=staff.locator("th", has_text=re.compile(rf"^{re.escape(first_meeting)}$")))
    came = [int(cell.inner_text()) for cell in row.locator("td").all()[3:5]]
    assert came[0] >= 1 and came[1] >= 2, came
    # The record counts the visit: its staff page charts it, its CSV for donor reports has it.
    assert _record_visits(staff, base, number) == visits_before + 1
    staff.goto(f"{base}/staff/record/")
    assert staff.locator("svg[role='img']").count() >= 1
    assert _axe(staff) == []


def _record_visits(page, base, number) -> int:
    """The "Missions at meetings" figure of session `number` in the record's CSV, downloaded as the signed-in user."""
    response = page.request.get(f"{base}/staff/record/session.csv")
    assert response.ok and "text/csv" in response.headers["content-type"]
    rows = list(csv.DictReader(io.StringIO(response.text())))
    [row] = [r for r in rows if r["Session"] == str(number)]
    return int(row["Missions at meetings"])


def test_the_coordinator_assigns_reviewers_with_the_keyboard(stack, page_factory):
    """Issue 19: "Assign reviewers" on the demo, then Apply, from the keyboard; axe on the page in en/fr/es and on a queue."""
    base = stack["base"]
    number = _session_number(stack)
    staff, steps = page_factory("12-reviewers", bypass_csp=True)
    _login(staff, base, "coordinator", stack["passwords"]["coordinator"], stack)
    staff.goto(f"{base}/staff/sessions/{number}/reviewers/")
    assign = staff.get_by_role("button", name="Assign reviewers")
    assign.focus()
    staff.keyboard.press("Enter")
    staff.get_by_role("button", name=re.compile(r"Apply the proposal \(\d+ reviews?\)")).wait_for()
    steps.shot("proposal")
    assert staff.locator("table", has=staff.get_by_role("columnheader", name="Take out")).locator("tbody tr").count() >= 1
    assert _axe(staff) == []
    staff.get_by_role("button", name=re.compile("Apply the proposal")).focus()
    staff.keyboard.press("Enter")
    staff.get_by_text(re.compile(r"\d+ reviews assigned\.")).wait_for()
    steps.shot("applied")
    for language in ("fr", "es"):
        staff.context.add_cookies([{"name": "django_language", "value": language, "url": base}])
        staff.goto(f"{base}/staff/sessions/{number}/reviewers/")
        assert f'lang="{language}"' in staff.content()
        assert _axe(staff) == [], language
    staff.context.add_cookies([{"name": "django_language", "value": "en", "url": base}])
    staff.goto(f"{base}/staff/reviews/")  # the queue page (the coordinator's own, perhaps empty)
    assert staff.get_by_role("heading", name="Your reviews").count() >= 1
    assert _axe(staff) == []
