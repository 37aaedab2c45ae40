import pytest
from django.db.models import Count

from applications.models import Application
from presessions.demo import load_demo

pytestmark = pytest.mark.django_db


def test_demo_has_applications_for_every_state_of_the_demo_session():
    result = load_demo(seed=7)
    session = result["session"]
    states = session.reviews.taking_place().count()
    per_state = Application.objects.filter(review__session=session).values("review").annotate(n=Count("pk"))
    assert len(per_state) == states
    assert all(5 <= row["n"] <= 14 for row in per_state)
    kinds = set(Application.objects.values_list("organisation__kind", flat=True))
    genders = set(Application.objects.values_list("speaker_gender", flat=True))
    assert kinds == {"cso", "nhri"}
    assert {"woman", "man"} <= genders
    assert Application.objects.filter(organisation__is_coalition=True).exists()
    assert Application.objects.filter(organisation__scope="international").exists()


def test_demo_is_seeded_and_does_not_duplicate():
    load_demo(seed=7)
    first = list(Application.objects.order_by("email").values_list("email", "speaker_name", "speaker_gender"))
    load_demo(seed=7)
    assert list(Application.objects.order_by("email").values_list("email", "speaker_name", "speaker_gender")) == first


def test_composing_every_demo_panel_gives_each_organisation_one_seat():
    """Issue 14: the demo has repeat organisations spelt differently; each still gets at most one speaker."""
    from applications.models import Organisation
    from panels import domain
    from panels.models import PanelMember

    session = load_demo()["session"]
    repeats = [o for o in Organisation.objects.all() if o.identity_id != o.pk]
    assert len(repeats) >= 5
    spelt_differently = [o for o in repeats if o.name != o.identity.name]
    assert spelt_differently, "the demo's repeat organisations should not all be spelt the same way"
    assert {o.identity_reason for o in repeats} >= {"domain", "name"}
    panels = domain.compose_session(session)
    assert panels
    speakers = PanelMember.objects.filter(role="speaker", panel__review__session=session).select_related(
        "application__organisation", "panel"
    )
    seen = set()
    for member in speakers:
        key = (member.panel_id, domain.identity_of(member.application))
        assert key not in seen, f"two speakers of {member.application.organisation} on {member.panel}"
        seen.add(key)


def test_assign_reviewers_on_the_demo_covers_every_application_fairly(client):
    """Issue 19's acceptance on the demo: k reviews each, capacities and conflicts kept, equal reviewers within one."""
    from collections import Counter

    from django.contrib.auth import get_user_model

    from applications import conflicts, reviewing
    from applications.models import Assessment, ReviewAssignment, ReviewerProfile
    from tests.factories import login_staff

    session = load_demo(seed=7)["session"]
    k = session.call.reviews_per_application
    coordinator = get_user_model().objects.get(username="coordinator")
    login_staff(client, coordinator)
    assert client.post(f"/staff/sessions/{session.number}/reviewers/", {"action": "propose"}).status_code == 302
    client.post(f"/staff/sessions/{session.number}/reviewers/", {"action": "apply"})

    pool = set(reviewing.reviewable(session).values_list("pk", flat=True))
    # Reviews already given (the demo coordinator scored some) count towards k.
    reviewers = set(ReviewAssignment.objects.filter(application__in=pool).values_list("application_id", "reviewer_id"))
    reviewers |= set(
        Assessment.objects.filter(application__in=pool, conflict_of_interest=False).values_list("application_id", "assessor_id")
    )
    given = Counter(application for application, _reviewer in reviewers)
    assert pool and all(given[pk] == k for pk in pool), Counter(given[pk] for pk in pool)
    loads = Counter(ReviewAssignment.objects.values_list("reviewer_id", flat=True))
    profiles = {p.user_id: p.capacity for p in ReviewerProfile.objects.all()}
    assert all(loads[user] <= capacity for user, capacity in profiles.items())
    demo = [p.user_id for p in ReviewerProfile.objects.filter(user__username__startswith="reviewer-")]
    assert max(loads[u] for u in demo) - min(loads[u] for u in demo) <= 1
    found = {(c.application_id, c.reviewer_id) for c in conflicts.for_session(session)}
    assert found  # the first demo reviewer works at an applicant's domain
    assert not found & set(ReviewAssignment.objects.values_list("application_id", "reviewer_id"))
    page = client.get(f"/staff/sessions/{session.number}/reviewers/").content.decode()
    assert "same email or web domain" in page and "Reviewer 1" in page
