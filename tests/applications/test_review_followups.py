# ruff: noqa: F811 -- the pool fixture is imported
"""
Issue 19, what the attack on the reviewers page found, each with its test: taken-out pairs stay out,
hand additions survive a new proposal, the disagreement rule and its list, short applications shown,
capacity 0 shown as 0, reviews given counted, reminders in the reviewer's language, profile domains
checked, calibration never stretches a reviewer's differences more than twofold.
"""

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from applications import assessment, calibration, conflicts, reviewing
from applications.admin import ReviewerProfileForm
from applications.models import Assessment, ReviewAssignment, ReviewerProfile
from tests.applications.test_review_assignment import pool, reviewer  # noqa: F401 -- a fixture
from tests.factories import login_staff

pytestmark = pytest.mark.django_db

AGREE = {"quality": 5, "national": True, "report": True, "coalition": False}
DISAGREE = {"quality": 1, "national": False, "report": False, "coalition": False}
REASONS = {"national": "Works regionally", "report": "No report found"}


def test_a_pair_taken_out_is_not_proposed_again_and_a_hand_addition_survives_a_new_proposal(open_session, pool):
    team = [reviewer(f"r{n}", f"r{n}@reviewers-{n}.test") for n in range(3)]
    reviewing.propose(open_session)
    taken_out = ReviewAssignment.objects.filter(application=pool[0]).first()
    pair = (taken_out.application_id, taken_out.reviewer_id)
    reviewing.drop(taken_out)
    other = next(u for u in team if not ReviewAssignment.objects.filter(application=pool[1], reviewer=u).exists())
    reviewing.drop(ReviewAssignment.objects.filter(application=pool[1]).first())
    added = reviewing.add(pool[1], other)
    assert added.source == ReviewAssignment.Source.MANUAL

    reviewing.propose(open_session)  # again, before applying
    pairs = set(ReviewAssignment.objects.values_list("application_id", "reviewer_id"))
    assert pair not in pairs
    assert ReviewAssignment.objects.filter(pk=added.pk, source="manual").exists()
    assert ReviewAssignment.objects.filter(application=pool[0]).count() == 2  # the third reviewer instead

    # Adding the pair back by hand lifts the exclusion.
    holder = ReviewAssignment.objects.filter(application=pool[0]).exclude(source="manual").first()
    reviewing.drop(holder)
    back = reviewing.add(pool[0], taken_out.reviewer)
    assert back.reviewer_id == pair[1]


def test_the_extra_review_on_disagreement_is_asked_once_even_when_taken_out(
    open_session,
    pool,
    django_capture_on_commit_callbacks,
):
    [reviewer(f"r{n}", f"r{n}@reviewers-{n}.test") for n in range(4)]
    reviewing.propose(open_session)
    reviewing.apply(open_session)
    target = pool[0]
    first, second = [ra.reviewer for ra in ReviewAssignment.objects.filter(application=target)]
    with django_capture_on_commit_callbacks(execute=True):
        assessment.save_assessment(application=target, assessor=first, marks=AGREE, reasons={})
        assessment.save_assessment(application=target, assessor=second, marks=DISAGREE, reasons=REASONS)
    extra = ReviewAssignment.objects.get(application=target, source="disagreement")
    assert reviewing.attention(open_session)["disagreements"][0]["extra"] == "asked"
    reviewing.drop(extra)
    with django_capture_on_commit_callbacks(execute=True):
        assessment.save_assessment(application=target, assessor=second, marks=DISAGREE, reasons=REASONS)  # saved again
    assert not ReviewAssignment.objects.filter(application=target, source="disagreement").exists()
    assert reviewing.attention(open_session)["disagreements"][0]["extra"] == "taken out"


def test_the_reviewers_page_lists_disagreements_short_applications_and_reviews_given(
    client,
    cast,
    open_session,
    kenya,
    pool,
    django_capture_on_commit_callbacks,
):
    from tests.factories import make_application

    [reviewer(f"r{n}", f"r{n}@reviewers-{n}.test") for n in range(2)]
    reviewing.propose(open_session)
    reviewing.apply(open_session)
    target = pool[0]
    only = ReviewAssignment.objects.filter(application=target).first().reviewer
    with django_capture_on_commit_callbacks(execute=True):
        assessment.save_assessment(application=target, assessor=only, marks=AGREE, reasons={})
        assessment.save_assessment(application=target, assessor=cast.coordinator, marks=DISAGREE, reasons=REASONS)
    for user in conflicts.reviewer_users(open_session):  # everyone full: the next arrival finds nobody
        ReviewerProfile.objects.update_or_create(user=user, defaults={"capacity": 0})
    late = make_application(kenya, name="Late Forum", email="info@late.test", screening="pending")
    assessment.screen_application(late, eligible=True)
    assert not ReviewAssignment.objects.filter(application=late).exists()

    login_staff(client, cast.coordinator)
    page = client.get("/staff/sessions/60/reviewers/").content.decode()
    short = page.split("Applications short of reviewers")[1].split("</ul>")[0]
    assert "Late Forum" in short and "0 of 2" in short and "KE Group 1" not in short
    assert "Reviews that disagree" in page
    row = page.split('<th scope="row">r0</th>')[1].split("</tr>")[0]
    assert row.startswith("<td>0</td>")  # capacity 0 is 0, not the default
    given = reviewing.attention(open_session)["given"]
    assert given[kenya.pk] == 2  # the coordinator's review without an assignment counts
    assert Assessment.objects.filter(application=target, total__isnull=False).count() == 2


def test_reminders_go_in_the_reviewer_s_language(open_session, pool, django_capture_on_commit_callbacks):
    import datetime as dt

    from django.utils import timezone

    from outbox.models import Email
    from presessions.models import Call

    reviewer("fr", "fr@fr-reviewer.test", languages=["fr"])
    reviewer("es", "es@es-reviewer.test", languages=["es", "en"])
    reviewing.propose(open_session)
    reviewing.apply(open_session)
    due = timezone.now() + dt.timedelta(days=5)
    Call.objects.filter(session=open_session).update(review_deadline=due)
    with django_capture_on_commit_callbacks(execute=True):
        assert reviewing.remind(now=due - dt.timedelta(days=1)) == 2
    languages = dict(Email.objects.filter(kind="review-reminder").values_list("to", "language"))
    assert languages == {"fr@fr-reviewer.test": "fr", "es@es-reviewer.test": "es"}
    subjects = dict(Email.objects.filter(kind="review-reminder").values_list("to", "subject"))
    assert subjects["fr@fr-reviewer.test"] != subjects["es@es-reviewer.test"]


@pytest.mark.parametrize(
    "line, message",
    [
        ("*.partner.org", "without *"),
        ("foo.org, bar.org", "one domain per line"),
        ("org", "is not an organisation"),
        ("org.uk", "is not an organisation"),
        ("example.org", "webmail or example"),
        ("someone@gmail.com", "webmail or example"),
    ],
)
def test_profile_domains_are_checked(cast, line, message):
    form = ReviewerProfileForm(data={"user": cast.alice.pk, "capacity": 10, "domains": f"good.org\n{line}"})
    assert not form.is_valid()
    assert message in " ".join(form.errors["domains"]).lower()


def test_profile_domains_are_normalised(cast):
    text = "Partner.ORG.\nhttps://www.foo.org/about\n@bar.org\n.partner.org"
    form = ReviewerProfileForm(data={"user": cast.alice.pk, "capacity": 10, "domains": text})
    assert form.is_valid(), form.errors
    assert form.cleaned_data["domains"].splitlines() == ["partner.org", "foo.org", "bar.org"]
    assert conflicts.check_domains("partner.org.")[0] == "partner.org"


def test_a_generous_reviewer_s_one_lower_mark_does_not_sink_to_the_bottom():
    marks = [calibration.Mark(1, n, 10.0) for n in range(7)] + [calibration.Mark(1, 7, 9.2)]
    marks += [calibration.Mark(2, 10 + n, float(v)) for n, v in enumerate([2, 3, 4, 5, 2, 3, 4, 5])]
    result = calibration.calibrate(marks, low=0, high=10)
    assert result.scores[7] > result.scores[10]  # above the strict reviewer's lowest
    assert result.scores[0] - result.scores[7] <= 2 * 0.8 + 1e-9  # at most twice the raw difference
    assert max(result.scores.values()) < 10 and min(result.scores.values()) > 0


@settings(max_examples=80, deadline=None)
@given(
    st.lists(st.integers(min_value=0, max_value=20), min_size=8, max_size=15),
    st.lists(st.integers(min_value=0, max_value=20), min_size=8, max_size=15),
)
def test_calibration_never_stretches_a_reviewer_s_differences_more_than_twofold(first, second):
    marks = [calibration.Mark(1, n, float(v)) for n, v in enumerate(first)]
    marks += [calibration.Mark(2, 100 + n, float(v)) for n, v in enumerate(second)]
    result = calibration.calibrate(marks, low=0, high=20)
    for reviewer_id, totals in ((1, first), (2, second)):
        offset = 0 if reviewer_id == 1 else 100
        for i, a in enumerate(totals):
            for j, b in enumerate(totals):
                calibrated = abs(result.marks[reviewer_id, offset + i] - result.marks[reviewer_id, offset + j])
                assert calibrated <= 2 * abs(a - b) + 1e-9


def test_disagreement_is_a_quarter_of_the_scale_between_highest_and_lowest():
    flagged = calibration.calibrate(
        [calibration.Mark(1, 1, 0.0), calibration.Mark(2, 1, 2.6), calibration.Mark(1, 2, 0.0), calibration.Mark(2, 2, 2.5)],
        low=0,
        high=10,
    ).disagreements
    assert set(flagged) == {1} and flagged[1] == pytest.approx(2.6)


@pytest.mark.parametrize(
    ("language", "words"),
    [
        ("fr", ["Attribuer", "Conflits", "Évaluations divergentes", "Évaluations faites"]),
        ("es", ["Asignar", "Conflictos", "Evaluaciones discrepantes", "Evaluaciones hechas"]),
    ],
)
def test_the_reviewers_page_and_queue_speak_french_and_spanish(client, cast, open_session, pool, language, words):
    [reviewer(f"r{n}", f"r{n}@reviewers-{n}.test") for n in range(3)]
    reviewing.propose(open_session)
    reviewing.apply(open_session)
    client.cookies["django_language"] = language
    login_staff(client, cast.coordinator)
    page = client.get("/staff/sessions/60/reviewers/").content.decode()
    assert f'lang="{language}"' in page
    for word in words:
        assert word in page, word
    for english in ("Assign reviewers", "Coverage per State", "Reviews that disagree", "No proposal waiting."):
        assert english not in page, english
    login_staff(client, cast.alice)
    queue = client.get("/staff/reviews/").content.decode()
    assert f'lang="{language}"' in queue and "Your reviews" not in queue
