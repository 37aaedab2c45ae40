"""
Issue 19 in the database: conflicts found from domains and organisations, the proposal and its
application, assignment on arrival, one more review on disagreement, visibility, calibrated scores.
"""

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group

from applications import assessment, conflicts, reviewing
from applications.models import Application, AssessorAssignment, ReviewAssignment, ReviewerProfile
from tests.factories import make_application

pytestmark = pytest.mark.django_db


def reviewer(username, email, *, capacity=60, languages=()):
    user = get_user_model().objects.create_user(username, email=email, password="pw", is_staff=True)
    user.groups.add(Group.objects.get(name="Assessor"))
    ReviewerProfile.objects.create(user=user, capacity=capacity, languages=list(languages))
    return user


@pytest.fixture
def pool(open_session, kenya, turkiye):
    apps = []
    for review in (kenya, turkiye):
        for n in range(6):
            apps.append(
                make_application(
                    review,
                    name=f"{review.country.code} Group {n}",
                    email=f"info@{review.country.code.lower()}-group-{n}.test",
                    match=True,
                )
            )
    return apps


def test_a_reviewer_on_an_applicant_s_domain_is_never_given_it(open_session, pool):
    one = reviewer("rita", "rita@ke-group-0.test")
    two = reviewer("sam", "sam@elsewhere.test")
    website = pool[1]
    website.organisation.website = "https://www.ke-group-0.test/about"  # the applicant's edit: the key follows
    website.organisation.save(update_fields=["website"])
    found = {(c.application_id, c.reviewer_id, c.cause) for c in conflicts.for_session(open_session)}
    assert (pool[0].pk, one.pk, "domain") in found and (pool[1].pk, one.pk, "domain") in found
    assert not any(r == two.pk for _a, r, _c in found)

    proposal = reviewing.propose(open_session)
    pairs = set(proposal.pairs)
    assert (pool[0].pk, one.pk) not in pairs and (pool[1].pk, one.pk) not in pairs
    assert not assessment.assessable_applications(one).filter(pk__in=[pool[0].pk, pool[1].pk]).exists()
    assert assessment.assessable_applications(two).filter(pk=pool[0].pk).exists() is False  # a proposal is not yet an assignment


def test_a_declared_organisation_and_a_subdomain_are_conflicts(open_session, pool):
    one = reviewer("rita", "rita@tr-group-0.test")
    one.reviewer_profile.organisations.add(pool[2].organisation)
    pool[3].organisation.email = "office@geneva.tr-group-0.test"
    pool[3].organisation.save(update_fields=["email"])
    causes = {c.application_id: c.cause for c in conflicts.for_session(open_session) if c.reviewer_id == one.pk}
    assert causes[pool[2].pk] == "organisation" and causes[pool[3].pk] == "domain"
    assert Application.objects.filter(conflicts.found_q(one)).filter(pk__in=[pool[2].pk, pool[3].pk]).count() == 2


def test_propose_apply_and_the_loads_are_even(open_session, pool):
    team = [reviewer(f"r{n}", f"r{n}@reviewers-{n}.test") for n in range(3)]
    proposal = reviewing.propose(open_session)
    assert proposal.short == {}
    assert ReviewAssignment.objects.filter(applied_at__isnull=True).count() == 2 * len(pool)
    loads = [proposal.loads[u.pk] for u in team]
    assert max(loads) - min(loads) <= 1 and sum(loads) == 2 * len(pool)
    assert not assessment.assessable_applications(team[0]).exists()  # nothing before it is applied

    assert reviewing.apply(open_session) == 2 * len(pool)
    mine = set(ReviewAssignment.objects.filter(reviewer=team[0]).values_list("application_id", flat=True))
    assert set(assessment.assessable_applications(team[0]).values_list("pk", flat=True)) == mine
    assert assessment.next_for_assessor(team[0]).pk in mine

    # Proposing again moves nothing applied: every application has its two reviews already.
    again = reviewing.propose(open_session)
    assert again.pairs == [] and ReviewAssignment.objects.count() == 2 * len(pool)


def test_a_late_application_is_assigned_on_arrival_without_moving_others(open_session, kenya, pool):
    [reviewer(f"r{n}", f"r{n}@reviewers-{n}.test") for n in range(3)]
    reviewing.propose(open_session)
    reviewing.apply(open_session)
    before = set(ReviewAssignment.objects.values_list("application_id", "reviewer_id"))
    late = make_application(kenya, name="Late Forum", email="info@late.test", screening="pending")
    assessment.screen_application(late, eligible=True)
    after = set(ReviewAssignment.objects.values_list("application_id", "reviewer_id"))
    assert before <= after and len(after - before) == 2
    assert all(a == late.pk for a, _r in after - before)


def test_languages_and_states_limit_who_gets_what(open_session, kenya, turkiye, pool):
    french = reviewer("fr", "fr@fr-reviewer.test", languages=["fr"])
    kenyan = reviewer("ke", "ke@ke-reviewer.test")
    AssessorAssignment.objects.create(assessor=kenyan, review=kenya)
    Application.objects.filter(pk=pool[0].pk).update(working_language="fr")
    Application.objects.filter(pk=pool[1].pk).update(working_language="en")
    proposal = reviewing.propose(open_session)
    pairs = set(proposal.pairs)
    assert (pool[1].pk, french.pk) not in pairs  # English: not a language they work in
    assert not any(r == kenyan.pk and a in {p.pk for p in pool[6:]} for a, r in pairs)  # Türkiye: not their State


def test_one_more_review_when_the_reviews_disagree(open_session, kenya, pool, django_capture_on_commit_callbacks):
    team = [reviewer(f"r{n}", f"r{n}@reviewers-{n}.test") for n in range(3)]
    reviewing.propose(open_session)
    reviewing.apply(open_session)
    target = pool[0]
    first, second = [ra.reviewer for ra in ReviewAssignment.objects.filter(application=target)]
    target.refresh_from_db()
    agree = {"quality": 5, "national": True, "report": True, "coalition": False}  # as pre-assessed, and top marks
    disagree = {"quality": 1, "national": False, "report": False, "coalition": False}
    assessment.save_assessment(application=target, assessor=first, marks=agree, reasons={})
    assert not ReviewAssignment.objects.filter(application=target, source="disagreement").exists()
    reasons = {"national": "Works regionally", "report": "No report found"}
    with django_capture_on_commit_callbacks(execute=True):
        assessment.save_assessment(application=target, assessor=second, marks=disagree, reasons=reasons)
    extra = ReviewAssignment.objects.filter(application=target, source="disagreement")
    assert extra.count() == 1 and extra.get().reviewer not in (first, second) and extra.get().reviewer in team
    target.refresh_from_db()
    assert target.score_calibrated is not None  # recalibrated after each review (the task runs eagerly)


def test_a_declared_conflict_hands_the_application_to_someone_else(open_session, pool):
    [reviewer(f"r{n}", f"r{n}@reviewers-{n}.test") for n in range(3)]
    reviewing.propose(open_session)
    reviewing.apply(open_session)
    target = pool[0]
    leaving = ReviewAssignment.objects.filter(application=target).first().reviewer
    assessment.save_assessment(
        application=target, assessor=leaving, marks={}, reasons={}, conflict=True, conflict_reason="My cousin"
    )
    holders = set(ReviewAssignment.objects.filter(application=target).values_list("reviewer_id", flat=True))
    assert leaving.pk not in holders and len(holders) == 2
    found = [c for c in conflicts.for_session(open_session) if c.application_id == target.pk and c.reviewer_id == leaving.pk]
    assert found and found[0].cause == "declared" and found[0].detail == "My cousin"


def test_reviewers_with_open_assignments_are_reminded_once_two_days_before(
    open_session, pool, django_capture_on_commit_callbacks
):
    import datetime as dt

    from django.utils import timezone

    from outbox.models import Email
    from presessions.models import Call

    team = [reviewer(f"r{n}", f"r{n}@reviewers-{n}.test") for n in range(2)]
    reviewing.propose(open_session)
    reviewing.apply(open_session)
    due = timezone.now() + dt.timedelta(days=5)
    Call.objects.filter(session=open_session).update(review_deadline=due)
    assert reviewing.remind() == 0  # five days before: not yet
    with django_capture_on_commit_callbacks(execute=True):
        assert reviewing.remind(now=due - dt.timedelta(days=1)) == 2
        assert reviewing.remind(now=due - dt.timedelta(hours=20)) == 0  # once
    emails = Email.objects.filter(kind="review-reminder")
    assert sorted(emails.values_list("to", flat=True)) == sorted(u.email for u in team)
    assert [
        (e.subject, e.body_text)
        for e in emails
        if "12 applications still to review" != e.subject or "/staff/reviews/" not in e.body_text
    ] == []


def test_the_composer_uses_the_score_the_call_chooses(client, cast, open_session, kenya):
    from decimal import Decimal

    from panels import domain
    from presessions.models import Call
    from tests.factories import login_staff

    high_raw = make_application(kenya, name="High Raw", gender="woman")
    high_calibrated = make_application(kenya, name="High Calibrated", gender="woman")
    Application.objects.filter(pk=high_raw.pk).update(score_mean=Decimal("9"), score_calibrated=Decimal("3"), score_count=2)
    Application.objects.filter(pk=high_calibrated.pk).update(
        score_mean=Decimal("4"), score_calibrated=Decimal("8"), score_count=2
    )
    login_staff(client, cast.coordinator)

    def scores():
        fresh = Application.objects.filter(pk__in=[high_raw.pk, high_calibrated.pk])
        return {a.pk: domain.to_candidate(a, domain.score_basis(kenya)).score for a in fresh}

    assert scores() == {high_raw.pk: 9.0, high_calibrated.pk: 4.0}  # the raw mean, by default
    domain.compose_panel(kenya)
    assert "Scores: the raw mean of the reviews." in client.get(f"/staff/panels/{kenya.pk}/").content.decode()
    Call.objects.filter(session=open_session).update(score_basis="calibrated")
    assert scores() == {high_raw.pk: 3.0, high_calibrated.pk: 8.0}
    page = client.get(f"/staff/panels/{kenya.pk}/").content.decode()
    assert "Scores: calibrated" in page


def test_assignments_that_no_longer_hold_leave_the_queue_and_are_replaced(client, open_session, pool):
    """What an attack found: screened-out, withdrawn and newly conflicted applications stayed in queues and reminders."""
    from tests.factories import login_staff

    team = [reviewer(f"r{n}", f"r{n}@reviewers-{n}.test") for n in range(3)]
    reviewing.propose(open_session)
    reviewing.apply(open_session)
    victim = team[0]
    mine = list(ReviewAssignment.objects.filter(reviewer=victim).order_by("application_id"))
    screened, withdrawn, conflicted = (row.application for row in mine[:3])
    Application.objects.filter(pk=screened.pk).update(screening="ineligible", screening_reason="Not about this State")
    Application.objects.filter(pk=withdrawn.pk).update(status="withdrawn")
    victim.reviewer_profile.domains = conflicted.organisation.domain_key
    victim.reviewer_profile.save()

    login_staff(client, victim)
    queue = client.get("/staff/reviews/").content.decode()
    for gone in (screened, withdrawn, conflicted):
        assert gone.organisation.name not in queue
    reviewing.propose(open_session)
    assert not ReviewAssignment.objects.filter(reviewer=victim, application__in=[screened, withdrawn, conflicted]).exists()
    assert ReviewAssignment.objects.filter(application=conflicted).count() == 2  # someone else takes it


def test_only_assessors_and_coordinators_with_a_profile_review(open_session, cast, pool):
    from applications.models import ReviewerProfile as Profile

    clerk = get_user_model().objects.create_user("clerk", email="clerk@office.test", password="pw", is_staff=True)
    Profile.objects.create(user=clerk, capacity=5)
    Profile.objects.create(user=cast.coordinator, capacity=5)
    who = set(conflicts.reviewer_users(open_session).values_list("username", flat=True))
    assert "clerk" not in who and "carla" in who and {"alice", "bob"} <= who


def test_a_reviewer_on_a_subdomain_of_the_applicant_conflicts(open_session, pool):
    one = reviewer("hq", "someone@hq.ke-group-2.test")
    causes = {c.application_id: c.cause for c in conflicts.for_session(open_session) if c.reviewer_id == one.pk}
    assert causes.get(pool[2].pk) == "domain"
    assert Application.objects.filter(conflicts.found_q(one), pk=pool[2].pk).exists()
    assert not Application.objects.filter(conflicts.found_q(one), pk=pool[3].pk).exists()


def test_a_hand_addition_keeps_to_capacity_state_and_language(open_session, kenya, turkiye, pool):
    full = reviewer("full", "full@full.test", capacity=0)
    french = reviewer("fr", "fr@fr-only.test", languages=["fr"])
    kenyan = reviewer("ke", "ke@ke-only.test")
    AssessorAssignment.objects.create(assessor=kenyan, review=kenya)
    Application.objects.filter(pk=pool[0].pk).update(working_language="en")
    for who, target, reason in ((full, pool[0], "capacity"), (french, pool[0], "language"), (kenyan, pool[6], "state")):
        with pytest.raises(reviewing.NotAllowed) as refused:
            reviewing.add(Application.objects.get(pk=target.pk), who)
        assert str(refused.value) == reason
    assert reviewing.add(Application.objects.get(pk=pool[1].pk), kenyan).reviewer == kenyan
