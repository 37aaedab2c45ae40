"""
Synthetic applications for the demo session, from a seeded generator.

The mix is meant to look like a real call: mostly national CSOs, some
coalitions, an NHRI for some States, a few international NGOs; more women
than men among speakers (as in past series), themes drawn from the real
list, and some drafts and withdrawals. No email is sent for them.
"""

from __future__ import annotations

import random
import secrets

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.db import transaction
from django.utils import timezone

from presessions.countries import display_name
from presessions.demo import demo_second_factor
from presessions.models import Session, Theme

from . import identity
from .assessment import save_assessment
from .enums import (
    ApplicationStatus,
    Attendance,
    CSOForm,
    Gender,
    NHRIStatus,
    OrganisationKind,
    Publication,
    ReportSubmission,
    Scope,
    Screening,
)
from .models import Application, AssessorAssignment, Organisation

FIRST_NAMES = {
    Gender.WOMAN: [
        "Amina",
        "Wanjiru",
        "Fatou",
        "María",
        "Ana",
        "Leila",
        "Nadia",
        "Priya",
        "Sofía",
        "Mariam",
        "Chiara",
        "Olena",
        "Thi Lan",
        "Ayesha",
        "Grace",
        "Zeynep",
    ],
    Gender.MAN: [
        "Kwame",
        "José",
        "Ahmed",
        "Luis",
        "Tomás",
        "Ibrahim",
        "Rahul",
        "Jean-Pierre",
        "Oleksandr",
        "Samuel",
        "Hassan",
        "Diego",
        "Minh",
        "Omar",
    ],
    Gender.NON_BINARY: ["Alex", "Sam", "Kai", "Noor"],
    Gender.UNDISCLOSED: ["R.", "M.", "A."],
}
LAST_NAMES = [
    "Mensah",
    "Kamau",
    "Diallo",
    "García",
    "Silva",
    "Haddad",
    "Rahman",
    "Nguyen",
    "Kowalska",
    "Okafor",
    "Fernández",
    "Sharma",
    "Mwangi",
    "Rossi",
    "Petrenko",
    "Traoré",
    "Ali",
    "Mendoza",
]
NATIONAL_NAMES = [
    "{country} Human Rights Forum",
    "Centre for Justice and Accountability – {country}",
    "{country} Women's Rights Network",
    "Association for the Rights of the Child in {country}",
    "{country} Legal Aid Foundation",
    "Media Freedom Watch {country}",
    "Disability Rights Alliance of {country}",
    "{country} Indigenous Peoples' Council",
    "Land and Housing Rights Initiative {country}",
    "Prison Reform Association of {country}",
    "{country} LGBTI Equality Platform",
    "Youth for Democracy {country}",
]
COALITION_NAMES = [
    "{country} UPR Coalition",
    "National Coalition of Human Rights Defenders – {country}",
    "Civil Society Platform for the UPR in {country}",
]
INTERNATIONAL_NAMES = [
    "Global Rights Watchers",
    "International Centre for Freedom of Expression",
    "World Network Against Torture",
    "Forum for Women in Development",
]
GENDER_WEIGHTS = [(Gender.WOMAN, 55), (Gender.MAN, 39), (Gender.NON_BINARY, 3), (Gender.UNDISCLOSED, 3)]
STATUS_WEIGHTS = [(ApplicationStatus.SUBMITTED, 85), (ApplicationStatus.DRAFT, 10), (ApplicationStatus.WITHDRAWN, 5)]


def _weighted(rng: random.Random, pairs):
    values, weights = zip(*pairs, strict=True)
    return rng.choices(values, weights=weights)[0]


def _slug(text: str) -> str:
    return "".join(c for c in text.lower() if c.isalnum())[:20] or "org"


def _another_spelling(name: str, index: int, domain: str, draws: random.Random) -> tuple[str, str, str]:
    """A second application by one organisation: its name spelt another way, from another mailbox."""
    acronym = "".join(word[0] for word in name.split() if word[0].isupper())
    spelling = draws.choice(
        [
            name.upper(),
            name.replace("'", "’").replace(" and ", " & "),
            f"The {name}",
            f"{name} ({acronym})",
            name.replace("–", "-").lower().title(),
        ]
    )
    if draws.random() < 0.5:  # the same domain, another person
        return spelling, f"director{index}@{domain}.example.org", f"http://{domain}.example.org/"
    # A personal webmail address and no website: only the name can tell.
    return spelling, f"{_slug(name)}.{index}@gmail.com", ""


@transaction.atomic
def generate_applications(session: Session, *, seed: int = 2012) -> int:
    """Create the demo applications for every State in `session`; return how many were created."""
    rng = random.Random(f"{seed}-{session.number}")
    themes = list(Theme.objects.filter(active=True).order_by("slug"))
    now = timezone.now()
    created = 0
    for review in session.reviews.taking_place().order_by("order"):
        country = display_name(review.country.code)
        count = rng.randint(5, 14)
        has_nhri = rng.random() < 0.6
        seen: set[str] = set()
        for index in range(count):
            if index == 0 and has_nhri:
                kind, scope, form, coalition = OrganisationKind.NHRI, Scope.NATIONAL, "", False
                name = f"National Human Rights Commission of {country}"
            else:
                roll = rng.random()
                kind = OrganisationKind.CSO
                if roll < 0.18:
                    scope, form, coalition = Scope.NATIONAL, CSOForm.COALITION, True
                    name = rng.choice(COALITION_NAMES).format(country=country)
                elif roll < 0.32:
                    scope, form, coalition = rng.choice([Scope.INTERNATIONAL, Scope.REGIONAL]), CSOForm.NGO, False
                    name = rng.choice(INTERNATIONAL_NAMES)
                else:
                    scope, coalition = Scope.NATIONAL, False
                    form = _weighted(
                        rng,
                        [
                            (CSOForm.NGO, 70),
                            (CSOForm.FAITH_BASED, 8),
                            (CSOForm.ACADEMIC, 8),
                            (CSOForm.TRADE_UNION, 7),
                            (CSOForm.OTHER, 7),
                        ],
                    )
                    name = rng.choice(NATIONAL_NAMES).format(country=country)
            # One draw per row from the outer generator, whether or not the row exists, so a second run follows the same sequence.
            gender = _weighted(rng, GENDER_WEIGHTS)
            status = _weighted(rng, STATUS_WEIGHTS)
            draws = random.Random(rng.random())
            # An organisation's own domain: national ones per country, international ones the same everywhere.
            domain = f"{_slug(name)}-{review.country.code.lower()}" if scope == Scope.NATIONAL else _slug(name)
            email, website = f"info@{domain}.example.org", f"https://www.{domain}.example.org"
            homes = ["CH", "GB", "US", "FR", "ZA", "TH"]
            home = review.country.code if scope == Scope.NATIONAL else homes[sum(map(ord, _slug(name))) % len(homes)]
            if name in seen:
                # The same organisation applying again, as people do: another spelling, another mailbox.
                name, email, website = _another_spelling(name, index, domain, draws)
            seen.add(name)
            if Application.objects.filter(email=email, review=review).exists():
                continue
            organisation = Organisation(
                name=name,
                kind=kind,
                cso_form=form,
                nhri_status=_weighted(draws, [(NHRIStatus.A, 60), (NHRIStatus.B, 30), (NHRIStatus.NONE, 10)])
                if kind == OrganisationKind.NHRI
                else "",
                country=home,
                scope=scope,
                is_coalition=coalition,
                member_count=draws.randint(5, 80) if coalition else None,
                website=website,
                email=email,
                established_year=draws.randint(1975, 2020),
                ecosoc_status=draws.random() < 0.2,
                aim=f"{name} works to protect and promote human rights through research, advocacy and support to victims.",
            )
            organisation.save()
            identity.attach(organisation)
            application = Application.objects.create(
                review=review,
                organisation=organisation,
                email=email,
                report_submitted=_weighted(
                    draws, [(ReportSubmission.ALONE, 30), (ReportSubmission.JOINT, 35), (ReportSubmission.NONE, 35)]
                ),
                statement_summary=f"The situation of human rights in {country} since the last review, with recommendations.",
                speaker_name=f"{draws.choice(FIRST_NAMES[gender])} {draws.choice(LAST_NAMES)}",
                speaker_gender=gender,
                speaker_role=draws.choice(["Director", "Programme officer", "Legal adviser", "Coordinator", "Commissioner"]),
                speaker_email=f"speaker.{index}@{_slug(name)}.example.org",
                working_language=draws.choice(["en", "en", "fr", "es"]),
                attendance=_weighted(draws, [(Attendance.IN_PERSON, 75), (Attendance.REMOTE, 25)]),
                consent_data=True,
                publication=_weighted(
                    draws, [(Publication.NOTHING, 30), (Publication.ORGANISATION, 40), (Publication.NAME_AND_ORGANISATION, 30)]
                ),
                status=status,
                screening=_weighted(draws, [(Screening.ELIGIBLE, 85), (Screening.PENDING, 10), (Screening.INELIGIBLE, 5)]),
                language=draws.choice(["en", "en", "fr", "es"]),
                submitted_at=now if status != ApplicationStatus.DRAFT else None,
                withdrawn_at=now if status == ApplicationStatus.WITHDRAWN else None,
            )
            if application.screening == Screening.INELIGIBLE:
                application.screening_reason = "International organisation with no national partner"
                application.save(update_fields=["screening_reason"])
            if application.report_submitted != ReportSubmission.NONE:
                application.report_reference = f"Stakeholder submission, UPR {session.number}"
                application.save(update_fields=["report_reference"])
            application.themes.set(draws.sample(themes, draws.randint(1, 3)))
            created += 1
    identity.refresh_first_time(
        {
            root or pk
            for root, pk in Organisation.objects.filter(applications__review__session=session).values_list("identity_id", "pk")
        }
    )
    return created


DEMO_REVIEWERS = 4


def generate_reviewers(session: Session) -> list[str]:
    """
    Four reviewers for "Assign reviewers" on the demo session (issue 19): staff who cannot sign in,
    each with a profile whose capacity covers the session's reviews. The first works at the domain
    of one applicant organisation, so the page shows a conflict found from a domain.
    """
    from .models import ReviewerProfile

    eligible = Application.objects.filter(
        review__session=session, status=ApplicationStatus.SUBMITTED, screening=Screening.ELIGIBLE
    )
    k = session.call.reviews_per_application
    capacity = -(-k * eligible.count() // DEMO_REVIEWERS) + 5
    colleague = eligible.exclude(organisation__domain_key="").values_list("organisation__domain_key", flat=True).first()
    names = []
    for n in range(1, DEMO_REVIEWERS + 1):
        domain = colleague if n == 1 and colleague else f"reviewers-{n}.example.net"
        user, _created = get_user_model().objects.get_or_create(
            username=f"reviewer-{n}", defaults={"first_name": "Reviewer", "last_name": str(n), "email": f"reviewer.{n}@{domain}"}
        )
        user.is_staff = True
        user.set_unusable_password()
        user.save()
        user.groups.add(Group.objects.get(name="Assessor"))
        ReviewerProfile.objects.update_or_create(user=user, defaults={"capacity": capacity})
        names.append(user.username)
    return names


DEMO_ASSESSOR = "assessor"


DEMO_ASSESSOR_STATES = 2


def generate_assessor(session: Session) -> tuple[str, str, str, str]:
    """
    A staff account in the Assessor group, with a new random password on each run, an authenticator,
    and the first States of the demo session to review. Return its username, password, authenticator
    secret and the names of its States.
    """
    user, _ = get_user_model().objects.get_or_create(
        username=DEMO_ASSESSOR, defaults={"first_name": "Demo", "last_name": "Assessor", "email": "assessor@example.org"}
    )
    password = secrets.token_urlsafe(12)
    user.is_staff = True
    user.set_password(password)
    user.save()
    user.groups.add(Group.objects.get(name="Assessor"))
    coordinator = get_user_model().objects.filter(username="coordinator").first()
    if coordinator:
        coordinator.groups.add(Group.objects.get(name="Coordinator"))
    reviews = list(session.reviews.taking_place().order_by("order")[:DEMO_ASSESSOR_STATES])
    for review in reviews:
        AssessorAssignment.objects.get_or_create(assessor=user, review=review)
    return DEMO_ASSESSOR, password, demo_second_factor(user), ", ".join(review.name for review in reviews)


def generate_assessments(session: Session, *, seed: int = 2012) -> int:
    """Score about two thirds of the eligible applications, as the demo coordinator, so panels have scores to work with."""
    assessor = get_user_model().objects.filter(username="coordinator").first()
    if assessor is None:
        return 0
    rng = random.Random(f"reviews-{seed}-{session.number}")
    count = 0
    eligible = Application.objects.filter(
        review__session=session, status=ApplicationStatus.SUBMITTED, screening=Screening.ELIGIBLE
    )
    for application in eligible.select_related("organisation", "review__session__call").order_by("pk"):
        draw = rng.random()
        quality = rng.randint(1, 5)
        if draw > 0.66 or application.assessments.filter(assessor=assessor).exists():
            continue
        save_assessment(
            application=application, assessor=assessor, marks={**application.assessed, "quality": quality}, reasons={}
        )
        count += 1
    return count
