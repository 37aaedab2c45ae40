"""
The permission matrix, generated from the URL conf (admin routes included, third-party ones
too): every route, with GET and POST, for five roles.

- anonymous;
- an applicant, holding the private links of one application (KE1) and nothing else;
- alice, assessor of Kenya, and bob, assessor of Türkiye;
- carla, coordinator.

Each route must have a rule below; a route added later without one fails the test, naming it.
Every request runs in a savepoint that is rolled back, so that no request changes what the next
one sees. For every request the test checks:

1. the outcome the rule expects (allowed, or refused: 403, 404, 405, a redirect to the login...);
2. for a refused request, and for every GET, that no row of the product's tables changed;
3. that nothing leaked: no response, allowed or not, contains a secret the role may not know
   (another State's applicants, another assessor's comments, anyone's private link...);
4. that no response is a server error.
"""

import datetime as dt
import hashlib
import re
from dataclasses import dataclass, field

import pytest
from django.apps import apps as django_apps
from django.contrib import admin
from django.contrib.auth import get_user_model
from django.contrib.contenttypes.models import ContentType
from django.core.files.base import ContentFile
from django.db import transaction
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver
from django_otp.plugins.otp_totp.models import TOTPDevice

from applications import assessment as assessment_rules
from applications.models import Application, AssessorAssignment, CallAlert, ReviewerProfile
from applications.tokens import ALERT_SALT, EMAIL_CHANGE_SALT, UNSUBSCRIBE_SALT, make_token, sign
from config.views import MOVED_ADMIN_PAGES
from outbox.models import EmailTemplate
from panels import domain, publishing
from panels.models import PanelMember, PanelRules, ScheduleSubscription
from presessions.models import CouncilSession, PrivacyNotice, Session, StateReview
from tests.conftest import REPORT
from tests.factories import PDF_BYTES, finalise, login_staff, make_application, send_decisions

pytestmark = pytest.mark.django_db

ROLES = ["anon", "applicant", "alice", "bob", "carla"]
ASSESSORS = {"alice": "a", "bob": "b"}
GOOD = {"national": True, "report": True, "coalition": False, "quality": 4}

# Who may use a route: one of these words, for GET and for POST.
#   all        everyone;                 nobody      no role here (superusers only, or not at all);
#   staff      any signed-in staff;      assessors   both assessors and the coordinator;
#   coord      the coordinator;          scoped      the coordinator, and the assessor of the object's State;
#   holder     whoever holds the private link (the applicant);
#   any        no expectation on the status (still: no leak, no server error, no change on GET).
PUBLIC_GET = {"GET": "all", "POST": "nobody"}
FORM = {"GET": "all", "POST": "all"}
COORD = {"GET": "coord", "POST": "coord"}
HOLDER = {"GET": "holder", "POST": "holder"}

ROUTE_RULES = {
    "healthz": PUBLIC_GET,
    "readyz": PUBLIC_GET,
    "readyz_web": PUBLIC_GET,
    "switch_language": {"GET": "nobody", "POST": "all"},
    "presessions:home": PUBLIC_GET,
    "presessions:calendar": PUBLIC_GET,
    "presessions:country": PUBLIC_GET,
    "presessions:session": PUBLIC_GET,
    "presessions:faq": PUBLIC_GET,
    "presessions:about": PUBLIC_GET,
    "presessions:accessibility": PUBLIC_GET,
    "presessions:privacy": PUBLIC_GET,
    "presessions:privacy_version": PUBLIC_GET,
    "robots_txt": PUBLIC_GET,
    "sitemap": PUBLIC_GET,
    "request_too_large": {"GET": "any", "POST": "nobody"},
    "applications:apply": FORM,
    "applications:sent": PUBLIC_GET,
    "applications:alert_subscribe": FORM,
    "applications:alert_sent": {"GET": "all", "POST": "all"},
    "applications:confirm_email": HOLDER,
    "applications:detail": {"GET": "holder", "POST": "nobody"},
    "applications:edit": HOLDER,
    "applications:withdraw": HOLDER,
    "applications:reopen": {"GET": "nobody", "POST": "holder"},
    "applications:reminders_off": HOLDER,
    "applications:your_data": {"GET": "holder", "POST": "nobody"},
    "applications:your_data_json": {"GET": "holder", "POST": "nobody"},
    "applications:erase": HOLDER,
    "applications:alert_confirm": HOLDER,
    "applications:alert_unsubscribe": HOLDER,
    "applications:dashboard": COORD,
    "applications:reviewers": COORD,
    "applications:my_reviews": {"GET": "staff", "POST": "nobody"},
    "applications:report_file": {"GET": "scoped", "POST": "scoped"},
    "panels:session": COORD,
    "panels:schedule_staff": COORD,
    "panels:panel": COORD,
    "panels:statement_file": {"GET": "coord", "POST": "nobody"},
    "panels:participation": HOLDER,
    "panels:schedule": PUBLIC_GET,
    "panels:changes": PUBLIC_GET,
    "panels:subscribe": FORM,
    "panels:meeting": PUBLIC_GET,
    "panels:ics": PUBLIC_GET,
    "panels:json": PUBLIC_GET,
    "panels:statement": PUBLIC_GET,
    "panels:subscription_confirm": HOLDER,
    "panels:attend": FORM,
    "panels:attendance_confirm": HOLDER,
    "panels:attendance_staff": COORD,
    "panels:sign_in_sheet": {"GET": "coord", "POST": "nobody"},
    "panels:check_in": COORD,
    "panels:record_staff": {"GET": "coord", "POST": "nobody"},
    "panels:record_csv": {"GET": "coord", "POST": "nobody"},
    "panels:record_public": PUBLIC_GET,
    "panels:session_home": {"GET": "coord", "POST": "nobody"},
    "panels:training": COORD,
    "panels:visa_letter_pdf": {"GET": "holder", "POST": "nobody"},
    "panels:visa_letters": COORD,
    "panels:visa_letter_staff_pdf": {"GET": "coord", "POST": "nobody"},
    "panels:guest_list": {"GET": "coord", "POST": "nobody"},
    "panels:guest_list_csv": {"GET": "coord", "POST": "nobody"},
    "panels:subscription_unsubscribe": HOLDER,
    # The two-step staff login (django-two-factor-auth).
    "two_factor:login": {"GET": "any", "POST": "any"},
    "two_factor:setup": {"GET": "any", "POST": "any"},  # enrolled staff are sent on to "complete"
    "two_factor:qr": {"GET": "any", "POST": "any"},
    "two_factor:setup_complete": {"GET": "staff", "POST": "staff"},
    "two_factor:backup_tokens": {"GET": "staff", "POST": "staff"},
    "two_factor:profile": {"GET": "staff", "POST": "staff"},
    # The admin site's own pages.
    "admin:index": {"GET": "staff", "POST": "staff"},
    "admin:login": {"GET": "any", "POST": "any"},
    "admin:logout": {"GET": "nobody", "POST": "any"},
    "admin:password_change": {"GET": "staff", "POST": "staff"},
    "admin:password_change_done": {"GET": "staff", "POST": "staff"},
    "admin:jsi18n": {"GET": "staff", "POST": "staff"},
    "admin:view_on_site": {"GET": "staff", "POST": "staff"},
    "admin:catch_all": {"GET": "nobody", "POST": "nobody"},
    "admin:object_redirect": {"GET": "any", "POST": "any"},
    "moved_admin_page": {"GET": "any", "POST": "nobody"},  # a redirect to the admin, which decides
}

# The admin's models: who may list, view, change (POST to the change page), add, delete, read the
# history, and run the actions. Custom admin pages of a model are listed by their name.
COORD_ONLY = {"list": "coord", "view": "coord", "change": "coord", "add": "coord", "delete": "coord", "history": "coord"}
NOBODY = dict.fromkeys(COORD_ONLY, "nobody")
ADMIN_RULES = {
    "applications.application": {
        **COORD_ONLY,
        "list": "assessors",
        "view": "scoped",
        "add": "nobody",
        "simple_history": "coord",
        "export": "coord",
        "assess": "scoped",
        "next_assessment": "assessors",
    },
    "applications.organisation": {**COORD_ONLY, "list": "assessors", "view": "scoped", "simple_history": "coord"},
    "applications.assessment": {**COORD_ONLY, "list": "assessors", "view": "scoped", "add": "nobody", "simple_history": "coord"},
    "applications.criterion": {**COORD_ONLY, "simple_history": "coord"},
    "applications.assessorassignment": COORD_ONLY,
    "applications.reviewerprofile": COORD_ONLY,
    "applications.callalert": COORD_ONLY,
    "presessions.cycle": COORD_ONLY,
    "presessions.session": COORD_ONLY,
    "presessions.councilsession": COORD_ONLY,
    "presessions.statereview": COORD_ONLY,
    "presessions.call": COORD_ONLY,
    "presessions.theme": COORD_ONLY,
    # A published notice is never changed or deleted: each consent names its version.
    "presessions.privacynotice": {**COORD_ONLY, "change": "nobody", "delete": "nobody"},
    # The audit log, read-only (exports are recorded there).
    "admin.logentry": {**COORD_ONLY, "change": "nobody", "add": "nobody", "delete": "nobody"},
    "outbox.email": {**COORD_ONLY, "add": "nobody", "delete": "nobody"},
    "outbox.emailtemplate": COORD_ONLY,
    "panels.panelrules": COORD_ONLY,
    "panels.trainingday": COORD_ONLY,
    "panels.visalettertext": COORD_ONLY,
    # Panels and their members change only through the panel page: in the admin they are records.
    "panels.panel": {**COORD_ONLY, "add": "nobody", "delete": "nobody"},
    "panels.panelmember": {**COORD_ONLY, "add": "nobody", "delete": "nobody"},
    "panels.scheduleday": COORD_ONLY,
    "panels.schedulerelease": {**COORD_ONLY, "change": "nobody", "add": "nobody"},
    "panels.schedulesubscription": COORD_ONLY,
    "django_celery_beat.periodictask": {**COORD_ONLY, "add": "nobody", "delete": "nobody"},
    "django_celery_beat.intervalschedule": NOBODY,
    "django_celery_beat.crontabschedule": NOBODY,
    "django_celery_beat.solarschedule": NOBODY,
    "django_celery_beat.clockedschedule": NOBODY,
    "auth.user": {**NOBODY, "password_change": "nobody"},
    "auth.group": NOBODY,
    "otp_static.staticdevice": NOBODY,
    "otp_totp.totpdevice": {**NOBODY, "config": "nobody", "qrcode": "nobody"},
    "axes.accessattempt": NOBODY,
    "axes.accesslog": NOBODY,
    "axes.accessfailurelog": NOBODY,
}
AUTOCOMPLETE = [
    ("applications", "application", "organisation", "assessors"),
    ("applications", "assessorassignment", "review", "coord"),
    ("presessions", "statereview", "session", "coord"),
    ("presessions", "statereview", "rescheduled_to", "coord"),
    ("presessions", "call", "session", "coord"),
]
APP_LIST = {
    "applications": "assessors",
    "presessions": "coord",
    "outbox": "coord",
    "panels": "coord",
    "django_celery_beat": "coord",
    "admin": "coord",
}

# The tables whose rows a refused request (or any GET) must leave exactly as they were.
WATCHED = [
    "applications.application",
    "applications.organisation",
    "applications.assessment",
    "applications.criterion",
    "applications.assessorassignment",
    "applications.callalert",
    "outbox.email",
    "outbox.emailtemplate",
    "presessions.session",
    "presessions.councilsession",
    "presessions.statereview",
    "presessions.call",
    "presessions.privacynotice",
    "panels.panel",
    "panels.panelmember",
    "panels.panelrules",
    "panels.trainingday",
    "panels.visalettertext",
    "panels.visaletter",
    "panels.scheduleday",
    "panels.meetingplacement",
    "panels.schedulerelease",
    "panels.schedulesubscription",
    "auth.user",
    "auth.group",
    "otp_totp.totpdevice",
    "django_celery_beat.periodictask",
]


@dataclass
class Request:
    route: str  # the rule's name
    url: str
    method: str
    who: str  # the rule's word for this method
    variant: str = ""  # "a" or "b": the object belongs to alice's State or to bob's
    data: dict = field(default_factory=dict)
    mutating: bool = False  # an allowed POST may change rows (a change form, an action)
    soft: bool = False  # a refusal may look like a normal page (an action the role does not have)


# ------------------------------------------------------------------------------------------ world


@pytest.fixture
def world(cast, kenya, turkiye, open_session, settings):
    """Data that could leak to each role, and the secrets each role must never see."""
    settings.APPLICATION_RATELIMIT = "100000/m"
    user_model = get_user_model()
    from django.contrib.auth.models import Group

    dave = user_model.objects.create_user("dave", password="pw", is_staff=True)
    dave.groups.add(Group.objects.get(name="Assessor"))
    AssessorAssignment.objects.create(assessor=dave, review=kenya)
    ReviewerProfile.objects.create(user=dave, capacity=40, domains="partner.test")

    def app(review, name, **fields):
        application = make_application(review, name=name)
        Application.objects.filter(pk=application.pk).update(**fields)
        application.refresh_from_db()
        return application

    ke1 = app(
        kenya,
        "Amani KE1 Forum",
        email="ke1-secret@example.org",
        speaker_name="Wanjiku KE1-Speaker",
        speaker_phone="+254711111111",
        score_mean=9,
    )
    ke2 = app(kenya, "Baraza KE2 Trust", email="ke2-secret@example.org", speaker_name="Otieno KE2-Speaker", score_mean=8)
    # Kenya's panel: finalised, decisions sent, KE1 confirmed; the week published.
    PanelRules.objects.create(session=open_session)  # staff-set rules, so the admin has a row to show
    from panels.models import TrainingDay

    TrainingDay.objects.create(session=open_session, date=open_session.start_date - dt.timedelta(days=40))
    CouncilSession.objects.create(number=55, start_date=dt.date(2024, 2, 26), end_date=dt.date(2024, 4, 5))
    panel = domain.compose_panel(kenya)
    finalise(panel)
    send_decisions()
    ke1.refresh_from_db()
    member = domain.confirm_participation(panel.members.get(application=ke1), attends_training=True)
    from panels import visa
    from panels.models import VisaLetterText

    letter = visa.request_letter(member, full_name="Wanjiku KE1-Speaker", nationality="KE", language="en")
    visa.approve(letter, by=cast.coordinator)
    VisaLetterText.objects.create(language="fr", body="Lettre pour {name}.")
    member.statement_file.save("s.pdf", ContentFile(PDF_BYTES))
    PanelMember.objects.filter(pk=member.pk).update(statement_public=True)
    publishing.build_schedule(open_session)
    publishing.publish(open_session)
    # Applications still under review, with reviews that must stay independent and within their State.
    ke3 = app(kenya, "Comfort KE3 Watch", email="ke3-secret@example.org", speaker_name="Achieng KE3-Speaker")
    tr1 = app(turkiye, "Ankara TR1 Voice", email="tr1-secret@example.org", speaker_name="Deniz TR1-Speaker")
    tr1.report_file.save("r.pdf", ContentFile(PDF_BYTES))
    ke3.report_file.save("r.pdf", ContentFile(PDF_BYTES))
    poor = {**GOOD, "quality": 1}
    daves = assessment_rules.save_assessment(application=ke3, assessor=dave, marks=poor, reasons={}, comment="DAVE-KE3-COMMENT")
    daves_total = f"{daves.total:.2f}"  # also KE3's mean: no other review counts
    assessment_rules.save_assessment(application=ke2, assessor=cast.alice, marks=GOOD, reasons={}, comment="ALICE-KE2-COMMENT")
    bob_review = assessment_rules.save_assessment(
        application=tr1, assessor=cast.bob, marks=GOOD, reasons={}, comment="BOB-COMMENT"
    )
    assessment_rules.save_assessment(application=tr1, assessor=cast.coordinator, marks=GOOD, reasons={}, comment="CARLA-COMMENT")
    alice_assessment = ke2.assessments.get(assessor=cast.alice)
    # The applicant's other credentials: an alert, a schedule subscription, an email change waiting.
    alert = CallAlert.objects.create(email="ke1-secret@example.org", country="KE")
    subscription = ScheduleSubscription.objects.create(session=open_session, email="ke1-secret@example.org")
    from panels import attendance

    mission = attendance.register(
        open_session, mission="FR", email="delegate@mission.example.org", language="en", choices={kenya.pk: 2}
    )
    attendance.confirm(mission)
    domain_apps = __import__("applications.domain", fromlist=["request_email_change"])
    domain_apps.request_email_change(ke1, "ke1-new@example.org")
    ke1.refresh_from_db()
    EmailTemplate.objects.create(name="application-link", language="en", subject="Link", body="{{ link }}")
    devices = {user.username: login_device(user) for user in (cast.alice, cast.bob, cast.coordinator)}

    tokens = [make_token(a) for a in (ke1, ke2, ke3, tr1)]
    tokens += [sign(a.link_key, UNSUBSCRIBE_SALT) for a in (ke1, ke2, ke3, tr1)]
    link_secrets = [t.split(":")[1] for t in tokens] + [a.link_key for a in (ke1, ke2, ke3, tr1)]
    otp_secrets = [device.key for device in TOTPDevice.objects.all()]
    markers = {
        "ke1": ["ke1-secret@", "Wanjiku KE1-Speaker", "+254711111111", "Amani KE1 Forum"],
        "ke2": ["ke2-secret@", "Otieno KE2-Speaker", "Baraza KE2 Trust"],
        "ke3": ["ke3-secret@", "Achieng KE3-Speaker", "Comfort KE3 Watch"],
        "tr1": ["tr1-secret@", "Deniz TR1-Speaker", "Ankara TR1 Voice"],
    }
    comments = ["DAVE-KE3-COMMENT", "ALICE-KE2-COMMENT", "BOB-COMMENT", "CARLA-COMMENT"]
    never = [*link_secrets, *otp_secrets]
    applicant_tokens = {a: make_token(ke1) for a in ("detail", "edit", "withdraw", "reopen", "participation")}
    forbidden = {
        "anon": [*never, *sum(markers.values(), []), *comments],
        "applicant": [
            *[
                s
                for s in never
                if s not in (*[t.split(":")[1] for t in (make_token(ke1), sign(ke1.link_key, UNSUBSCRIBE_SALT))], ke1.link_key)
            ],
            *markers["ke2"],
            *markers["ke3"],
            *markers["tr1"],
            *comments,
        ],
        # alice reviews Kenya: she saved her review of KE2, not of KE3 (dave's comment stays hidden).
        "alice": [*never, *markers["tr1"], "DAVE-KE3-COMMENT", daves_total, "BOB-COMMENT", "CARLA-COMMENT"],
        "bob": [*never, *markers["ke1"], *markers["ke2"], *markers["ke3"], "DAVE-KE3-COMMENT", "ALICE-KE2-COMMENT"],
        "carla": never,
    }
    PrivacyNotice.objects.create(text="## A notice staff published\n\nText.")
    from django.contrib.admin.models import CHANGE, LogEntry

    LogEntry.objects.log_actions(cast.coordinator.pk, [ke3], CHANGE, change_message="Changed screening.")
    return {
        "cast": cast,
        "kenya": kenya,
        "panel": panel,
        "member": member,
        "apps": {"ke1": ke1, "ke2": ke2, "ke3": ke3, "tr1": tr1},
        "objects": {
            "applications.application": {"a": ke3, "b": tr1},
            "applications.organisation": {"a": ke3.organisation, "b": tr1.organisation},
            "applications.assessment": {"a": alice_assessment, "b": bob_review},
        },
        "credentials": {
            "detail": make_token(ke1),
            "reminders_off": sign(ke1.link_key, UNSUBSCRIBE_SALT),
            "alert": sign(alert.key, ALERT_SALT),
            "subscription": publishing.sign_key(subscription.key),
            "mission": attendance.sign_key(mission.key),
            "confirm_email": sign(ke1.pending_email_key, EMAIL_CHANGE_SALT),
        },
        "applicant_tokens": applicant_tokens,
        "devices": devices,
        "forbidden": forbidden,
    }


def login_device(user) -> TOTPDevice:
    return TOTPDevice.objects.create(user=user, name="default", confirmed=True)


# ---------------------------------------------------------------------------------- the routes


def _walk(patterns, prefix="", namespace=""):
    for pattern in patterns:
        if isinstance(pattern, URLResolver):
            inner = f"{namespace}:{pattern.namespace}" if namespace and pattern.namespace else pattern.namespace or namespace
            yield from _walk(pattern.url_patterns, prefix + str(pattern.pattern), inner)
        elif isinstance(pattern, URLPattern):
            name = f"{namespace}:{pattern.name}" if namespace else pattern.name
            yield name, prefix + str(pattern.pattern)


def _admin_model(name: str):
    """The registered model and the view kind of an admin route name like "applications_assessment_history"."""
    short = name.split(":", 1)[1]
    for model in admin.site._registry:
        prefix = f"{model._meta.app_label}_{model._meta.model_name}_"
        if short.startswith(prefix):
            return model, short[len(prefix) :]
    return None, None


def _first(model):
    obj = model._default_manager.order_by("pk").first()
    return obj


def _fill(route: str, world) -> list[tuple[str, dict]]:
    """Concrete URLs for a route pattern, each with its variant ("a", "b" or "")."""
    kenya = world["kenya"]
    ke3, tr1 = world["apps"]["ke3"], world["apps"]["tr1"]
    fills = {
        "<int:number>": "60",
        "<int:version>": "1",
        "<str:by>": "session",
        "<str:day>": StateReview.objects.get(pk=kenya.pk).meeting_date.isoformat(),
        "<str:iso2>": "ke",
        "<int:review_id>": str(kenya.pk),
        "<str:key>": world["member"].statement_key,
        "<path:content_type_id>/<path:object_id>": f"{ContentType.objects.get_for_model(Session).pk}/{Session.objects.get(number=60).pk}",
    }
    if "(?P<old>" in route:  # the admin's old addresses (config.views.moved_admin_page)
        return [(f"/admin/{old}/", {}) for old in MOVED_ADMIN_PAGES]
    url = route
    for placeholder, value in fills.items():
        url = url.replace(placeholder, value)
    if "<int:pk>" in url and "visa-letters" in url:
        from panels.models import VisaLetter

        return [(url.replace("<int:pk>", str(VisaLetter.objects.get().pk)), {})]
    if "<int:pk>" in url and "statement.pdf" in url:
        return [(url.replace("<int:pk>", str(world["member"].pk)), {})]
    if "<int:pk>" in url and "report.pdf" in url:
        return [
            (url.replace("<int:pk>", str(ke3.pk)), {"variant": "a"}),
            (url.replace("<int:pk>", str(tr1.pk)), {"variant": "b"}),
        ]
    return [(url, {})]


def build_requests(world) -> tuple[list[Request], list[str]]:
    requests, missing = [], []
    credentials = world["credentials"]
    # A link someone made up: a key that exists nowhere, and a signature that does not match.
    forged = dict.fromkeys(credentials, "Zq0RkQ3mY8cB1nWv4TtLp7sXe2Hj6Ud9:Qm3Pz8Wc1Kx5Nv7Rb2Ty4Lh6Js9Df0Ga3Se5Uo8Ii1")
    for name, route in _walk(get_resolver().url_patterns):
        route = route.replace("^", "").replace("$", "")
        if name == "admin:None":
            name = "admin:catch_all" if "(?P<url>" in route else "admin:object_redirect"
        if name.startswith("admin:") and name not in ROUTE_RULES and name not in ("admin:app_list", "admin:autocomplete"):
            requests += _admin_requests(name, route, world, missing)
            continue
        if name == "admin:autocomplete":
            # Every autocomplete field of the admin, each as the field's own form asks for it.
            for app_label, model_name, field_name, who in AUTOCOMPLETE:
                url = f"/admin/autocomplete/?app_label={app_label}&model_name={model_name}&field_name={field_name}&term="
                requests += [Request(name, url, "GET", who), Request(name, url, "POST", "nobody")]
            continue
        if name == "admin:app_list":
            for label in re.search(r"\(\?P<app_label>([^)]+)\)", route).group(1).split("|"):
                url = "/" + re.sub(r"\(\?P<app_label>[^)]+\)", label, route)
                who = APP_LIST.get(label, "nobody")
                requests += [Request(name, url, "GET", who), Request(name, url, "POST", who)]
            continue
        if name == "admin:object_redirect":
            continue  # covered with the models below
        rule = ROUTE_RULES.get(name)
        if rule is None:
            missing.append(f"{name} ({route})")
            continue
        if "<str:token>" in route:
            kind = {
                "applications:reminders_off": "reminders_off",
                "applications:alert_confirm": "alert",
                "applications:alert_unsubscribe": "alert",
                "panels:subscription_confirm": "subscription",
                "panels:subscription_unsubscribe": "subscription",
                "panels:attendance_confirm": "mission",
                "applications:confirm_email": "confirm_email",
            }.get(name, "detail")
            for method in ("GET", "POST"):
                requests.append(
                    Request(
                        name,
                        "/" + route.replace("<str:token>", credentials[kind]),
                        method,
                        rule[method],
                        variant="holder",
                        mutating=True,
                        data={"confirm": "on"} if name == "applications:erase" else {},
                    )
                )
                # Everyone else tries a forged link.
                requests.append(
                    Request(name, "/" + route.replace("<str:token>", forged[kind]), method, "nobody", variant="forged")
                )
            continue
        route = "admin/no/such/page/" if name == "admin:catch_all" else route
        for url, extra in _fill("/" + route, world):
            for method in ("GET", "POST"):
                data = {"language": "fr", "next": "/"} if name == "switch_language" else {}
                requests.append(Request(name, url, method, rule[method], data=data, mutating=method == "POST", **extra))
    return requests, missing


def _admin_requests(name, route, world, missing) -> list[Request]:
    model, kind = _admin_model(name)
    if model is None:
        missing.append(f"{name} ({route})")
        return []
    label = f"{model._meta.app_label}.{model._meta.model_name}"
    rules = ADMIN_RULES.get(label)
    if rules is None:
        missing.append(f"{name}: the model {label} has no rule")
        return []
    objects = world["objects"].get(label) or {"": _first(model)}
    base = f"/admin/{model._meta.app_label}/{model._meta.model_name}/"
    out = []

    def add(url, kind_rule, variant="", get=True, post=True, post_rule=None, mutating=True, data=None):
        if get:
            out.append(Request(name, url, "GET", rules.get(kind_rule, "missing"), variant))
        if post:
            out.append(Request(name, url, "POST", rules.get(post_rule or kind_rule, "missing"), variant, data or {}, mutating))

    if kind == "changelist":
        add(base, "list", mutating=True)
        # Every action the coordinator has, tried by every role.
        request = _fake_request(world["cast"].coordinator)
        for action in admin.site._registry[model].get_actions(request):
            for variant, obj in objects.items():
                if obj is None:
                    continue
                data = {"action": action, "_selected_action": [obj.pk], "index": 0}
                out.append(Request(f"{name}:{action}", base, "POST", rules["change"], variant, data, True, soft=True))
        return out
    if kind == "add":
        add(base + "add/", "add")
        return out
    if kind in ("export", "next_assessment"):
        add(base + {"export": "export/", "next_assessment": "assess/next/"}[kind], kind)
        return out
    for variant, obj in objects.items():
        pk = obj.pk if obj is not None else 999999
        if kind == "change":
            add(f"{base}{pk}/change/", "view", variant, post_rule="change")
            # The redirect from /<pk>/ to the change page, for the same object.
            out.append(Request("admin:object_redirect", f"{base}{pk}/", "GET", "any", variant))
        elif kind == "delete":
            add(f"{base}{pk}/delete/", "delete", variant, data={"post": "yes"})
        elif kind == "history":
            add(f"{base}{pk}/history/", "history", variant, mutating=False)
        elif kind == "simple_history":
            version = obj.history.order_by("history_id").first().history_id if obj is not None else 999999
            add(f"{base}{pk}/history/{version}/", "simple_history", variant)
        elif kind == "assess":
            add(f"{base}{pk}/assess/", "assess", variant)
        elif kind == "password_change":
            add(f"{base}{pk}/password/", "password_change", variant)
        elif kind in ("config", "qrcode"):
            add(f"{base}{pk}/{kind}/", kind, variant)
        else:
            missing.append(f"{name}: the admin view kind {kind!r} has no rule")
    return out


def _fake_request(user):
    from django.test import RequestFactory

    request = RequestFactory().get("/admin/")
    request.user = user
    return request


# ------------------------------------------------------------------------------------ outcomes


def _allowed(who: str, role: str, variant: str) -> bool | None:
    """True or False; None when the rule sets no expectation."""
    if who == "any":
        return None
    if variant == "forged":
        return False
    return {
        "all": True,
        "nobody": False,
        "staff": role in ("alice", "bob", "carla"),
        "assessors": role in ("alice", "bob", "carla"),
        "coord": role == "carla",
        "scoped": role == "carla" or (role in ASSESSORS and variant in ("", ASSESSORS[role])),
        "holder": role == "applicant" and variant == "holder",
    }[who]


def _refused(response) -> bool:
    if response.status_code in (400, 403, 404, 405, 410):
        return True
    if response.status_code in (301, 302, 303):
        location = response["Location"]
        return "/login/" in location or "/account/" in location or location.rstrip("/") in ("/admin", "")
    return False


def _digest() -> str:
    hasher = hashlib.sha256()
    for label in WATCHED:
        model = django_apps.get_model(label)
        hasher.update(repr(list(model._default_manager.order_by("pk").values_list())).encode())
    return hasher.hexdigest()


def _client(role, world) -> Client:
    client = Client(raise_request_exception=False)
    users = {"alice": world["cast"].alice, "bob": world["cast"].bob, "carla": world["cast"].coordinator}
    if role in users:
        login_staff(client, users[role])
    return client


def test_the_permission_matrix(world):
    requests, missing = build_requests(world)
    assert not missing, "routes without a rule in the permission matrix:\n" + "\n".join(sorted(set(missing)))
    problems = []
    counted = 0
    clients = {role: _client(role, world) for role in ROLES}
    for request in requests:
        for role in ROLES:
            client = clients[role]
            expected = _allowed(request.who, role, request.variant)
            if request.variant == "holder" and role != "applicant":
                continue  # only the applicant holds the real link; the others try a forged one
            if request.variant == "forged" and role == "applicant":
                continue
            before = _digest()
            with transaction.atomic():
                response = getattr(client, request.method.lower())(request.url, request.data)
                after = _digest()
                transaction.set_rollback(True)
            counted += 1
            where = f"{request.method} {request.url} [{request.route}] as {role}"
            # The readiness check answers 503 by design when no worker has been seen (a run with Redis and
            # no worker): its own answer, in JSON, not a server error.
            deliberate = request.route.startswith("readyz") and response.status_code == 503 and b'"unhealthy"' in response.content
            if response.status_code >= 500 and not deliberate:
                problems.append(f"{where}: server error {response.status_code}")
                continue
            body = b"".join(response.streaming_content) if response.streaming else response.content
            text = body.decode("utf-8", "replace") + response.get("Location", "")
            leaked = [secret for secret in world["forbidden"][role] if secret and secret in text]
            if leaked:
                problems.append(f"{where}: leaked {leaked}")
            if request.method == "GET" and before != after:
                problems.append(f"{where}: a GET changed rows")
            if expected is False:
                if before != after:
                    problems.append(f"{where}: refused, yet rows changed")
                if not request.soft and not _refused(response):
                    problems.append(f"{where}: expected a refusal, got {response.status_code}")
            elif expected is True and request.method == "GET" and _refused(response):
                problems.append(f"{where}: expected access, got {response.status_code} {response.get('Location', '')}")
            if role != "anon" and "_auth_user_id" not in client.session and role != "applicant":
                clients[role] = _client(role, world)  # a logout: sign in again for the next request
    routes = len({r.route for r in requests})
    REPORT.append(
        f"permission matrix: {routes} routes and actions, {len(requests)} URL and method pairs, "
        f"{counted} requests over {len(ROLES)} roles; {len(problems)} problems"
    )
    assert not problems, f"{len(problems)} problems:\n" + "\n".join(problems[:80])
