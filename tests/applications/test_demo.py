import pytest
from django.db.models import Count

from applications.models import Application
from presessions.demo import load_demo

pytestmark = pytest.mark.django_db


def test_demo_has_applications_for_every_state_of_the_demo_session():
    result = load_demo(seed=7)
    session = result["session"]
    states = session.reviews.taking_place().count()
    per_state = Application.objects.values("review").annotate(n=Count("pk"))
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
