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


# ----------------------------------------------------------------- the second attack's findings


def _applied(open_session, n=3, **kwargs):
    team = [reviewer(f"r{i}", f"r{i}@reviewers-{i}.test", **kwargs) for i in range(n)]
    reviewing.propose(open_session)
    reviewing.apply(open_session)
    return team


def test_an_applicant_s_new_website_on_a_reviewer_s_domain_hands_the_application_on(open_session, pool):
    team = _applied(open_session)
    target = pool[0]
    holder = ReviewAssignment.objects.filter(application=target).first().reviewer
    organisation = target.organisation
    organisation.website = f"https://www.{holder.email.split('@')[1]}./"  # the applicant's edit, with a trailing dot
    organisation.save()
    assert not assessment.assessable_applications(holder).filter(pk=target.pk).exists()  # hidden at once
    reviewing.repair(open_session)
    holders = set(ReviewAssignment.objects.filter(application=target).values_list("reviewer_id", flat=True))
    assert holder.pk not in holders and len(holders) == 2 and holders <= {u.pk for u in team}


def test_a_deactivated_reviewer_s_work_and_a_moved_application_are_handed_on(open_session, pool, kenya, turkiye):
    from applications.models import Application, AssessorAssignment

    team = _applied(open_session, n=4)
    leaving = team[0]
    theirs = set(ReviewAssignment.objects.filter(reviewer=leaving).values_list("application_id", flat=True))
    leaving.is_active = False
    leaving.save()
    AssessorAssignment.objects.create(assessor=team[1], review=kenya)  # team[1] now reviews Kenya only
    reviewing.repair(open_session)
    assert not ReviewAssignment.objects.filter(reviewer=leaving).exists()
    assert not ReviewAssignment.objects.filter(reviewer=team[1], application__review=turkiye).exists()
    for application_id in theirs:
        assert ReviewAssignment.objects.filter(application_id=application_id).count() == 2
    french = reviewer("fr", "fr@fr-reviewer.test", languages=["fr"])
    Application.objects.filter(pk=pool[1].pk).update(working_language="en")
    row = ReviewAssignment.objects.filter(application=pool[1]).first()
    ReviewAssignment.objects.filter(pk=row.pk).update(reviewer=french)
    reviewing.repair(open_session)  # English application, French-only reviewer
    assert not ReviewAssignment.objects.filter(reviewer=french, application=pool[1]).exists()
    assert Application.objects.get(pk=pool[1].pk).review_assignments.count() == 2


def test_a_resubmitted_application_is_assigned_again(open_session, pool, django_capture_on_commit_callbacks):
    from applications import transitions

    _applied(open_session)
    target = pool[0]
    with django_capture_on_commit_callbacks(execute=True):
        transitions.change_status(target, "withdrawn")
    reviewing.repair(open_session)
    assert not ReviewAssignment.objects.filter(application=target).exists()
    target.status = "withdrawn"
    from applications.models import Application

    Application.objects.filter(pk=target.pk).update(status="draft")  # reopened by staff (the flow's own path)
    target.refresh_from_db()
    with django_capture_on_commit_callbacks(execute=True):
        transitions.change_status(target, "submitted")
    assert ReviewAssignment.objects.filter(application=target).count() == 2


def test_reviews_given_without_an_assignment_count_in_the_reviewer_s_load(open_session, pool, cast):
    one = reviewer("solo", "solo@reviewers-solo.test", capacity=8)
    for application in pool[:6]:
        assessment.save_assessment(application=application, assessor=one, marks=AGREE, reasons={})
    proposal = reviewing.propose(open_session)
    assert proposal.loads.get(one.pk, 0) <= 8  # 6 given + at most 2 more = capacity 8
    assert ReviewAssignment.objects.filter(reviewer=one).count() <= 2


def test_a_disagreement_before_apply_gets_its_extra_review_on_apply(open_session, pool, cast):
    team = [reviewer(f"r{i}", f"r{i}@reviewers-{i}.test") for i in range(4)]
    target = pool[0]
    assessment.save_assessment(application=target, assessor=team[0], marks=AGREE, reasons={})
    assessment.save_assessment(application=target, assessor=team[1], marks=DISAGREE, reasons=REASONS)
    reviewing.propose(open_session)
    reviewing.apply(open_session)
    assert ReviewAssignment.objects.filter(application=target, source="disagreement").count() == 1


def test_the_extra_reviewer_s_conflict_is_handed_on(open_session, pool, django_capture_on_commit_callbacks):
    _applied(open_session, n=5)
    target = pool[0]
    first, second = [ra.reviewer for ra in ReviewAssignment.objects.filter(application=target)]
    with django_capture_on_commit_callbacks(execute=True):
        assessment.save_assessment(application=target, assessor=first, marks=AGREE, reasons={})
        assessment.save_assessment(application=target, assessor=second, marks=DISAGREE, reasons=REASONS)
    extra = ReviewAssignment.objects.get(application=target, source="disagreement").reviewer
    with django_capture_on_commit_callbacks(execute=True):
        assessment.save_assessment(
            application=target, assessor=extra, marks={}, reasons={}, conflict=True, conflict_reason="Board member"
        )
    again = ReviewAssignment.objects.get(application=target, source="disagreement").reviewer
    assert again not in (first, second, extra)


def test_calibrated_scores_follow_a_change_of_weights_and_of_the_threshold(
    open_session, pool, django_capture_on_commit_callbacks
):
    from applications.models import Application, Criterion
    from presessions.models import Call

    team = _applied(open_session, n=2)
    with django_capture_on_commit_callbacks(execute=True):
        for n, application in enumerate(pool):
            for member in team:
                marks = {**AGREE, "quality": 1 + (n + member.pk) % 5}
                assessment.save_assessment(application=application, assessor=member, marks=marks, reasons={})
    Call.objects.filter(session=open_session).update(calibration_min_count=100)  # nobody calibrated: raw marks
    with django_capture_on_commit_callbacks(execute=True):
        call = Call.objects.get(session=open_session)
        call.calibration_min_count = 100
        call.save()
    raw = {a.pk: (a.score_mean, a.score_calibrated) for a in Application.objects.filter(pk__in=[p.pk for p in pool])}
    assert all(mean == calibrated for mean, calibrated in raw.values())
    quality = Criterion.objects.get(call=call, key="quality")
    quality.weight = quality.weight * 3
    quality.save()
    assessment.recompute_call(call)
    after = {a.pk: (a.score_mean, a.score_calibrated) for a in Application.objects.filter(pk__in=[p.pk for p in pool])}
    assert after != raw and all(mean == calibrated for mean, calibrated in after.values())


def test_a_coordinator_cannot_tick_a_conflict_in_the_admin(client, cast, open_session, pool):
    one = reviewer("solo", "solo@reviewers-solo.test")
    made = assessment.save_assessment(application=pool[0], assessor=one, marks=AGREE, reasons={})
    login_staff(client, cast.coordinator)
    page = client.get(f"/admin/applications/assessment/{made.pk}/change/").content.decode()
    assert 'name="conflict_of_interest"' not in page


def test_the_coordinator_takes_out_an_applied_assignment(client, cast, open_session, pool):
    _applied(open_session)
    row = ReviewAssignment.objects.filter(application=pool[0]).first()
    login_staff(client, cast.coordinator)
    url = "/staff/sessions/60/reviewers/"
    page = client.post(url, {"action": "take_out", "application": str(pool[0].pk), "reviewer": str(row.reviewer_id)}, follow=True)
    assert "Taken out." in page.content.decode()
    assert not ReviewAssignment.objects.filter(pk=row.pk).exists()
    reviewing.propose(open_session)
    assert not ReviewAssignment.objects.filter(application=pool[0], reviewer=row.reviewer_id).exists()  # stays out
    other = ReviewAssignment.objects.filter(application=pool[1]).first()
    assessment.save_assessment(application=pool[1], assessor=other.reviewer, marks=AGREE, reasons={})
    refused = client.post(
        url, {"action": "take_out", "application": str(pool[1].pk), "reviewer": str(other.reviewer_id)}, follow=True
    )
    assert "already reviewed" in refused.content.decode() and ReviewAssignment.objects.filter(pk=other.pk).exists()
    assert client.head(url).status_code == 200


@pytest.mark.parametrize("line", ["sub.example.org", "x\u200bpartner.org", "ｐａｒｔｎｅｒ.org"])
def test_more_profile_domains_are_refused(line):
    assert conflicts.check_domains(line)[1]
