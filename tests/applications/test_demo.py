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
