from decimal import Decimal as D

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from applications import assessment as rules
from applications.models import Assessment, Criterion
from tests.factories import make_application

pytestmark = pytest.mark.django_db

GOOD = {"national": True, "report": True, "coalition": False, "quality": 4}


@pytest.fixture
def ke_app(kenya):
    return make_application(kenya, name="Kenya Forum")


def test_a_new_call_gets_the_default_2012_rubric(kenya):
    criteria = list(kenya.session.call.criteria.values_list("key", "kind", "weight"))
    assert criteria == [
        ("national", "auto", D("3.00")),
        ("report", "auto", D("2.00")),
        ("coalition", "auto", D("1.00")),
        ("quality", "rating", D("4.00")),
    ]


def test_saving_a_review_computes_its_total_and_the_score(cast, ke_app):
    assessment = rules.save_assessment(application=ke_app, assessor=cast.alice, marks=GOOD, reasons={})
    assert assessment.total == D("8.20")  # 3 + 2 + 4 * 4/5
    ke_app.refresh_from_db()
    assert (ke_app.score_mean, ke_app.score_count, ke_app.score_spread) == (D("8.20"), 1, D("0.00"))


def test_score_with_zero_one_and_three_reviews(cast, ke_app, kenya):
    from django.contrib.auth.models import Group

    ke_app.refresh_from_db()
    assert (ke_app.score_mean, ke_app.score_count) == (None, 0)
    rules.save_assessment(application=ke_app, assessor=cast.alice, marks={**GOOD, "quality": 5}, reasons={})  # 9.00
    ke_app.refresh_from_db()
    assert (ke_app.score_mean, ke_app.score_count) == (D("9.00"), 1)
    rules.save_assessment(application=ke_app, assessor=cast.coordinator, marks={**GOOD, "quality": 1}, reasons={})  # 5.80
    third = cast.bob
    third.groups.add(Group.objects.get(name="Coordinator"))
    rules.save_assessment(application=ke_app, assessor=third, marks={**GOOD, "quality": 3}, reasons={})  # 7.40
    ke_app.refresh_from_db()
    assert (ke_app.score_mean, ke_app.score_count, ke_app.score_spread) == (D("7.40"), 3, D("1.31"))


def test_an_override_without_a_reason_is_refused(cast, ke_app):
    with pytest.raises(ValidationError) as error:
        rules.save_assessment(application=ke_app, assessor=cast.alice, marks={**GOOD, "report": False}, reasons={})
    assert list(error.value.message_dict) == ["report"]
    assert Assessment.objects.count() == 0
    assessment = rules.save_assessment(
        application=ke_app,
        assessor=cast.alice,
        marks={**GOOD, "report": False},
        reasons={"report": "Not in the OHCHR compilation"},
    )
    assert assessment.total == D("6.20")
    assert assessment.override_reasons == {"report": "Not in the OHCHR compilation"}


def test_changing_a_weight_recomputes_totals_and_scores(cast, ke_app, kenya):
    rules.save_assessment(application=ke_app, assessor=cast.alice, marks=GOOD, reasons={})
    Criterion.objects.filter(call=kenya.session.call, key="quality").update(weight=D("10"))
    rules.recompute_call(kenya.session.call)
    ke_app.refresh_from_db()
    assert ke_app.score_mean == D("13.00")  # 3 + 2 + 10 * 4/5


def test_a_conflict_excludes_the_assessor(cast, ke_app):
    rules.save_assessment(
        application=ke_app, assessor=cast.alice, marks={}, reasons={}, conflict=True, conflict_reason="Board member"
    )
    ke_app.refresh_from_db()
    assert (ke_app.score_mean, ke_app.score_count) == (None, 0)
    assert not rules.visible_applications(cast.alice).filter(pk=ke_app.pk).exists()
    assert rules.next_for_assessor(cast.alice) is None
    with pytest.raises(PermissionDenied):
        rules.get_application_for_assessor(cast.alice, ke_app.pk)


def test_reviews_stay_independent_until_the_assessor_has_saved_one(cast, ke_app, kenya):
    from applications.models import AssessorAssignment

    AssessorAssignment.objects.create(assessor=cast.bob, review=kenya)
    rules.save_assessment(application=ke_app, assessor=cast.bob, marks=GOOD, reasons={})
    assert rules.can_see_other_assessments(cast.alice, ke_app) is False
    assert rules.can_see_other_assessments(cast.coordinator, ke_app) is True
    rules.save_assessment(application=ke_app, assessor=cast.alice, marks=GOOD, reasons={})
    assert rules.can_see_other_assessments(cast.alice, ke_app) is True


def test_next_is_the_oldest_not_yet_assessed_by_me_in_my_states(cast, kenya, turkiye):
    first = make_application(kenya, name="A")
    second = make_application(kenya, name="B")
    make_application(turkiye, name="Elsewhere")
    make_application(kenya, name="Not screened", screening="pending")
    rules.save_assessment(application=first, assessor=cast.coordinator, marks=GOOD, reasons={})
    assert rules.next_for_assessor(cast.alice) == first  # others' reviews do not change the order
    assert rules.next_for_assessor(cast.alice, skip=[first.pk]) == second
    rules.save_assessment(application=second, assessor=cast.alice, marks=GOOD, reasons={})
    rules.save_assessment(application=first, assessor=cast.alice, marks=GOOD, reasons={})
    assert rules.next_for_assessor(cast.alice) is None


def test_screening_needs_a_reason_for_ineligible(ke_app):
    with pytest.raises(ValidationError):
        rules.screen_application(ke_app, eligible=False)
    rules.screen_application(ke_app, eligible=False, reason="Not about this State")
    ke_app.refresh_from_db()
    assert (ke_app.screening, ke_app.screening_reason) == ("ineligible", "Not about this State")


def test_merging_organisations_gives_them_one_identity_and_keeps_each_record(kenya, turkiye, cast):
    a = make_application(kenya, name="Same Org", match=True)
    b = make_application(turkiye, name="Same Org (dup)", email="x@other.org", match=True)
    assert b.organisation.identity_id == b.organisation.pk  # not matched: another country, another domain
    moved = rules.merge_organisations(a.organisation, [a.organisation, b.organisation], by=cast.coordinator)
    b.organisation.refresh_from_db()
    assert moved == 1
    assert b.organisation.identity_id == a.organisation.pk and b.organisation.identity_reason == "merged"
    assert b.organisation.name == "Same Org (dup)"  # what its applicant wrote stays theirs
    last = b.organisation.history.first()
    assert last.history_user == cast.coordinator and last.history_change_reason == "merged"


def test_review_history_is_kept(cast, ke_app):
    rules.save_assessment(application=ke_app, assessor=cast.alice, marks=GOOD, reasons={})
    rules.save_assessment(application=ke_app, assessor=cast.alice, marks={**GOOD, "quality": 2}, reasons={})
    assessment = Assessment.objects.get()
    assert [h.total for h in assessment.history.order_by("history_date")] == [D("8.20"), D("6.60")]


def test_another_assessors_conflict_does_not_hide_an_application_from_me(cast, kenya):
    from django.contrib.auth import get_user_model
    from django.contrib.auth.models import Group

    from applications.models import AssessorAssignment

    dave = get_user_model().objects.create_user("dave", is_staff=True)
    dave.groups.add(Group.objects.get(name="Assessor"))
    AssessorAssignment.objects.create(assessor=dave, review=kenya)
    app = make_application(kenya, name="Shared")
    rules.save_assessment(application=app, assessor=cast.alice, marks=GOOD, reasons={})
    rules.save_assessment(application=app, assessor=dave, marks={}, reasons={}, conflict=True, conflict_reason="Board member")
    assert list(rules.visible_applications(cast.alice)) == [app]
    assert list(rules.visible_applications(dave)) == []
    assert list(rules.assessable_applications(cast.alice)) == [app]
