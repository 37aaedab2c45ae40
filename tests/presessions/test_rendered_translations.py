"""
Every public page, read in French and in Spanish, shows no English from the catalogue.

The catalogues can be complete while a page is still half English: a help text formatted at import
time, a label that is data, a date written with an English pattern. This test reads the pages as a
visitor does (after the language switcher) and looks in their visible text for every English
message of the catalogue that has a different translation, and for the English names of the themes.
The pages are found from the URL conf: a new public page that this test does not visit fails it.
"""

import datetime as dt
import functools
import html
import re
from html.parser import HTMLParser
from pathlib import Path

import polib
import pytest
from django.conf import settings
from django.test import Client
from django.urls import URLResolver, get_resolver, resolve
from django.utils import timezone

from applications import domain as applications_domain
from applications.models import Application
from applications.tokens import ALERT_SALT, EMAIL_CHANGE_SALT, UNSUBSCRIBE_SALT, make_token, sign
from panels import domain as panels_domain
from panels import publishing
from presessions.models import PrivacyNotice, StateReview, Theme
from tests.factories import application_post, confirm_speakers, finalise, make_application, make_open_call, make_session

pytestmark = pytest.mark.django_db

LOCALE = Path(settings.BASE_DIR) / "locale"
MIN_LENGTH = 12  # shorter messages ("Country", "Geneva time") are too often part of other words or names
PLACEHOLDER = re.compile(r"%\(\w+\)[sd]|%[sd]")
# Attributes a person reads, or hears from a screen reader.
READ_ATTRIBUTES = {"alt", "title", "placeholder", "aria-label", "data-template"}
# Routes that are not pages: files, feeds and redirects.
# Not pages: the health check, the language switch, files, and redirects of old admin addresses.
NOT_PAGES = {
    "healthz",
    "readyz",
    "readyz_web",
    "robots_txt",
    "sitemap",
    "switch_language",
    "panels:ics",
    "panels:json",
    "panels:statement",
    "panels:statement_file",
    "panels:visa_letter_pdf",
    "moved_admin_page",
    "applications:your_data_json",
}
# Dates written with an English pattern: English month and day names (not "May", a Spanish word too),
# a raw ISO moment, and in Spanish a date without its "de" ("14 diciembre 2026").
ENGLISH_DATE_WORDS = re.compile(
    r"\b(?:January|February|March|April|June|July|August|September|October|November|December"
    r"|Monday|Tuesday|Wednesday|Thursday|Friday|Saturday|Sunday)\b"
)
ISO_MOMENT = re.compile(r"\b\d{4}-\d\d-\d\d(?:[T ]\d\d:\d\d)?\b")
SPANISH_DATE_WITHOUT_DE = re.compile(
    r"\b\d{1,2} (?:enero|febrero|marzo|abril|mayo|junio|julio|agosto|septiembre|octubre|noviembre|diciembre)\b(?! de)"
)


class _TextParser(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.parts, self.skipping = [], 0
        # An element marked as another language (`lang`, below <html>), e.g. the subject of an email
        # sent in English shown on a French page: its text is what it is, not a missed translation.
        self.other_language: list[list] = []

    def handle_starttag(self, tag, attrs):
        if self.other_language and tag == self.other_language[-1][0]:
            self.other_language[-1][1] += 1
        elif tag != "html" and any(name == "lang" for name, _value in attrs):
            self.other_language.append([tag, 1])
        if tag in ("script", "style"):
            self.skipping += 1
        if not self.other_language:
            self.parts += [value for name, value in attrs if name in READ_ATTRIBUTES and value]

    def handle_endtag(self, tag):
        if tag in ("script", "style"):
            self.skipping = max(0, self.skipping - 1)
        if self.other_language and tag == self.other_language[-1][0]:
            self.other_language[-1][1] -= 1
            if not self.other_language[-1][1]:
                self.other_language.pop()

    def handle_data(self, data):
        if not self.skipping and not self.other_language:
            self.parts.append(data)


def visible_text(markup: str) -> str:
    """The words of a page (or of a message holding markup), one space between them."""
    parser = _TextParser()
    parser.feed(markup)
    return " ".join(html.unescape(" ".join(parser.parts)).replace("’", "'").split())


@functools.cache
def english_messages(language: str) -> dict[str, re.Pattern]:
    """
    The catalogue's English messages that read differently in `language`, each with a pattern that finds it on a page.

    A placeholder matches any short run of text ("Apply before %(closes)s (Geneva time)." finds "Apply before
    1 December 2026, 23:59 (Geneva time)."). Only the message's own words count towards its length.
    """
    found = {}
    for entry in polib.pofile(str(LOCALE / language / "LC_MESSAGES" / "django.po")):
        if entry.obsolete or "fuzzy" in entry.flags:
            continue
        pairs = [(entry.msgid, entry.msgstr)]
        if entry.msgid_plural:
            pairs = [(entry.msgid, entry.msgstr_plural[0]), (entry.msgid_plural, entry.msgstr_plural[1])]
        for english, translated in pairs:
            parts = [visible_text(part) for part in PLACEHOLDER.split(english)]
            if len("".join(parts)) < MIN_LENGTH or visible_text(english) == visible_text(translated):
                continue
            # Whole words only: "International" is not English inside "Internationale".
            found[english] = re.compile(r"(?<!\w)" + r".{1,80}?".join(map(re.escape, parts)).strip() + r"(?!\w)")
    return found


def english_theme_labels(language: str) -> set[str]:
    """The English names of the themes whose name in `language` differs."""
    return {theme.label for theme in Theme.objects.all() if getattr(theme, f"label_{language}") != theme.label}


def public_route_names() -> set[str]:
    """The names of the site's public pages, from the URL conf: everything but the admin, staff pages and files."""
    names = set()

    def walk(patterns, namespace):
        for pattern in patterns:
            route = str(pattern.pattern)
            if isinstance(pattern, URLResolver):
                if route not in ("admin/", "account/"):
                    walk(pattern.url_patterns, pattern.namespace or namespace)
            elif not route.startswith("staff/") and pattern.name:
                names.add(f"{namespace}:{pattern.name}" if namespace else pattern.name)

    walk(get_resolver().url_patterns, "")
    return names - NOT_PAGES


@pytest.fixture
def world(open_session, kenya, turkiye):  # noqa: F811 -- the fixtures imported above
    """
    Data behind every public page: session 60 with an open call and applications in every state; session 59, its
    call closed, with composed panels, answered and unanswered decisions, and a published schedule in two versions.
    """
    client = Client()
    client.post("/sessions/60/apply/", application_post(kenya))
    client.post("/sessions/60/apply/", application_post(turkiye, email="withdrawn@example.org"))
    client.post("/sessions/60/apply/", application_post(kenya, action="draft", email="draft@example.org"))
    submitted = Application.objects.get(email="contact@kenya-hr.example.org")
    withdrawn = Application.objects.get(email="withdrawn@example.org")
    applications_domain.withdraw_application(withdrawn)
    applications_domain.request_email_change(submitted, "new-address@example.org")
    submitted.refresh_from_db()

    monday = timezone.localdate() + dt.timedelta(weeks=16)
    past = make_session(number=59, start=monday - dt.timedelta(days=monday.weekday()), states=("BR", "CL"))
    make_open_call(past)
    all_themes = list(Theme.objects.order_by("pk"))
    for review, names in [
        (past.reviews.get(country="BR"), ["Rio", "Recife", "Belém"]),
        (past.reviews.get(country="CL"), ["Arica"]),
    ]:
        for i, name in enumerate(names):
            app = make_application(
                review, name=f"{name} Rights", gender="woman" if i % 2 == 0 else "man", themes=all_themes[i : i + 2]
            )
            Application.objects.filter(pk=app.pk).update(score_mean=9 - i, publication="name_and_organisation")
    panels = [panels_domain.compose_panel(review) for review in past.reviews.order_by("order")]
    for panel in panels:
        finalise(panel)
    confirm_speakers(panels[0])  # Brazil's speakers confirm; Chile's have yet to answer
    publishing.build_schedule(past)
    publishing.publish(past, name="v1")
    brazil = StateReview.objects.get(session=past, country="BR")
    day = brazil.meeting_date
    publishing.move_meeting(brazil, starts_at=dt.datetime.combine(day, dt.time(12, 0)).astimezone(), room="Room XX")
    publishing.publish(past, name="v2")
    subscription = publishing.subscribe(past, email="mission@example.org", language="en")
    alert = applications_domain.subscribe_to_call_alert(email="watcher@example.org", country="KE", language="en")
    from panels import attendance

    mission = attendance.register(past, mission="FR", email="delegate@example.org", language="en", choices={brazil.pk: 2})
    return {
        "mission": attendance.sign_key(mission.key),
        "brazil": brazil.pk,
        "submitted": make_token(submitted),
        "withdrawn": make_token(withdrawn),
        "draft": make_token(Application.objects.get(email="draft@example.org")),
        "email_change": sign(submitted.pending_email_key, EMAIL_CHANGE_SALT),
        "reminders": sign(submitted.link_key, UNSUBSCRIBE_SALT),
        "confirmed_speaker": make_token(panels[0].members.filter(role="speaker").first().application),
        "unanswered_speaker": make_token(panels[1].members.filter(role="speaker").first().application),
        "subscription": publishing.sign_key(subscription.key),
        "alert": sign(alert.key, ALERT_SALT),
    }


def visit_every_page(client, world, settings):
    """Yield (what was asked, response) for every public page, its forms shown with and without errors."""
    t = world
    gets = [
        "/",
        "/calendar/",
        "/calendar/?q=Kenia",
        "/calendar/?q=Atlantis",
        "/calendar/?q=",
        "/countries/KE/",
        "/sessions/60/",
        "/sessions/59/",
        "/faq/",
        "/about/",
        "/accessibility/",
        "/privacy/",
        "/request-too-large/",
        "/sessions/999/",  # the 404 page
        "/sessions/60/apply/",
        "/sessions/60/apply/?state=KE",
        "/sessions/59/apply/",  # the call has closed
        "/sessions/60/apply/sent/",
        f"/applications/{t['submitted']}/",
        f"/applications/{t['draft']}/",
        f"/applications/{t['withdrawn']}/",
        f"/applications/{t['submitted']}/edit/",
        f"/applications/{t['submitted']}/withdraw/",
        f"/applications/{t['submitted']}/your-data/",
        f"/applications/{t['confirmed_speaker']}/your-data/",
        f"/applications/{t['submitted']}/erase/",
        f"/applications/{t['confirmed_speaker']}/erase/",
        f"/applications/{t['reminders']}/reminders-off/",
        f"/applications/confirm-email/{t['email_change']}/",
        f"/applications/{t['confirmed_speaker']}/participation/",
        f"/applications/{t['unanswered_speaker']}/participation/",
        "/alerts/",
        "/alerts/?country=KE",
        "/alerts/sent/",
        f"/alerts/{t['alert']}/confirm/",
        f"/alerts/{t['alert']}/unsubscribe/",
        "/sessions/60/schedule/",  # not published yet
        "/sessions/59/schedule/",
        "/sessions/59/schedule/changes/",
        "/sessions/59/schedule/br/",
        "/sessions/59/schedule/subscribe/",
        f"/schedule-alerts/{t['subscription']}/confirm/",
        f"/schedule-alerts/{t['subscription']}/unsubscribe/",
        "/sessions/59/schedule/attend/",
        f"/mission-attendance/{t['mission']}/",
        "/in-figures/",
    ]
    for url in gets:
        yield f"GET {url}", client.get(url, follow=True)
    # Staff publish a notice of their own: the built-in one becomes an earlier version.
    PrivacyNotice.objects.create(text="## Notice\n\nText.", text_fr="## Avis\n\nTexte.", text_es="## Aviso\n\nTexto.")
    for url in ("/privacy/", "/privacy/version-1/"):
        yield f"GET {url}", client.get(url, follow=True)
    posts = [
        ("/sessions/60/apply/", {"action": "submit"}),  # every error of the form
        (
            "/sessions/60/apply/",
            application_post(StateReview.objects.get(session__number=60, country="KE"), email="x@example.org"),
        ),
        ("/sessions/59/apply/", application_post(StateReview.objects.get(session__number=59, country="BR"))),  # answers back
        (f"/applications/{t['submitted']}/edit/", {"action": "submit"}),
        (f"/applications/{t['withdrawn']}/reopen/", {}),
        (f"/applications/{t['unanswered_speaker']}/participation/", {"answer": ""}),
        (f"/applications/{t['reminders']}/reminders-off/", {}),
        (f"/applications/confirm-email/{t['email_change']}/", {}),
        ("/alerts/", {"email": "nope", "country": "ZZ"}),
        ("/alerts/", {"email": "someone@example.org", "country": "KE"}),
        (f"/alerts/{t['alert']}/confirm/", {}),
        (f"/alerts/{t['alert']}/unsubscribe/", {}),
        ("/sessions/59/schedule/subscribe/", {"email": "nope"}),
        ("/sessions/59/schedule/subscribe/", {"email": "another-mission@example.org"}),
        (f"/schedule-alerts/{t['subscription']}/confirm/", {}),
        (f"/schedule-alerts/{t['subscription']}/unsubscribe/", {}),
        (f"/applications/{t['submitted']}/erase/", {}),  # the box is not ticked
        (f"/applications/{t['draft']}/erase/", {"confirm": "on"}),  # then the erased application's page
        (f"/applications/{t['submitted']}/withdraw/", {}),
        ("/sessions/59/schedule/attend/", {"mission": "", "email": "nope", f"meeting-{t['brazil']}": "99"}),
        ("/sessions/59/schedule/attend/", {"mission": "FR", "email": "d@example.org"}),  # no meeting chosen
        ("/sessions/59/schedule/attend/", {"mission": "FR", "email": "d@example.org", f"meeting-{t['brazil']}": "1"}),
        (f"/mission-attendance/{t['mission']}/", {"action": "confirm"}),
    ]
    for url, data in posts:
        yield f"POST {url}", client.post(url, data, follow=True)
    settings.APPLICATION_RATELIMIT = "1/h"
    for _ in range(2):
        response = client.post("/alerts/", {"email": "again@example.org", "country": "KE"})
    yield "POST /alerts/ (too many)", response


@pytest.mark.parametrize("language", ["fr", "es"])
def test_no_english_from_the_catalogue_on_a_public_page(client, world, settings, language):
    english = english_messages(language)
    labels = english_theme_labels(language) - set(english)
    client.post("/language/", {"language": language, "next": "/"})
    found, visited = {}, set()
    for asked, response in visit_every_page(client, world, settings):
        assert response.status_code in (200, 400, 404, 410, 413, 429), asked
        visited.add(resolve(asked.split()[1].split("?")[0]).view_name)
        body = response.content.decode()
        assert f'<html lang="{language}">' in body, asked
        text = visible_text(body)
        left = sorted(message for message, pattern in english.items() if pattern.search(text))
        left += sorted(label for label in labels if re.search(rf"\b{re.escape(label)}\b", text))
        left += sorted(set(ENGLISH_DATE_WORDS.findall(text) + ISO_MOMENT.findall(text)))
        if language == "es":
            left += sorted(set(SPANISH_DATE_WITHOUT_DE.findall(text)))
        if left:
            found[asked] = left
    assert found == {}
    assert public_route_names() - visited == set()


def test_the_check_finds_english_and_english_dates_on_a_page():
    """The check itself: an English message with its placeholders filled is caught, and so are English dates."""
    page = visible_text("<p>Apply before <strong>1 December 2026, 23:59</strong> (Geneva time).</p>")
    english = english_messages("fr")
    assert english["Apply before %(closes)s (Geneva time)."].search(page)
    assert not english["Apply before %(closes)s (Geneva time)."].search("Postulez avant le 1 décembre 2026 (heure de Genève).")
    assert ENGLISH_DATE_WORDS.findall(page) == ["December"]
    assert SPANISH_DATE_WITHOUT_DE.findall("el 14 diciembre 2026, no el 14 de diciembre de 2026") == ["14 diciembre"]
    assert ISO_MOMENT.findall("movida de 2027-02-16T10:00") == ["2027-02-16T10:00"]
    assert visible_text("<p title='A &amp; B'>x<script>var y</script></p>") == "A & B x"
    assert visible_text('<td lang="en">Application <b>received</b></td><td>reçue</td>') == "reçue"
