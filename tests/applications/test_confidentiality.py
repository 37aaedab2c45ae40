"""
The holes a security audit found on the staff side, each reproduced as it was found: assessors
of Kenya (alice) and Türkiye (bob), and a coordinator (carla).
"""

import pytest

from applications import assessment as rules
from applications.models import Application, Assessment, AssessorAssignment
from tests.factories import login_staff, make_application

pytestmark = pytest.mark.django_db

GOOD = {"national": True, "report": True, "coalition": False, "quality": 4}  # 8.20
POOR = {"national": True, "report": True, "coalition": False, "quality": 1}  # 5.80


@pytest.fixture
def ke(cast, kenya):
    return make_application(kenya, name="Kenya Forum")


@pytest.fixture
def tr(cast, turkiye):
    return make_application(turkiye, name="Ankara Rights Watch")


def _revert_form(application):
    """The fields of the admin's change form, as the revert page would post them, with an outsider's changes."""
    return {
        "review": application.review_id,
        "organisation": application.organisation_id,
        "email": "outsider@example.net",
        "status": "selected",
        "publication": "name_and_organisation",
        "screening": "eligible",
        "language": "en",
        "themes": [],
    }


def test_a_assessor_cannot_revert_an_application_through_its_history(client, cast, ke):
    version, email = ke.history.first().history_id, ke.email
    url = f"/admin/applications/application/{ke.pk}/history/{version}/"
    response = login_staff(client, cast.alice).post(url, _revert_form(ke))
    assert response.status_code == 403
    ke.refresh_from_db()
    assert (ke.email, ke.status, ke.publication) == (email, "submitted", "nothing")


def test_nobody_can_revert_through_the_history_not_even_a_coordinator(client, cast, ke):
    version = ke.history.first().history_id
    url = f"/admin/applications/application/{ke.pk}/history/{version}/"
    login_staff(client, cast.coordinator)
    assert client.get(url).status_code == 200  # read-only
    assert client.post(url, _revert_form(ke)).status_code == 403
    ke.refresh_from_db()
    assert ke.status == "submitted"


def test_a_assessor_cannot_change_a_coordinators_review_through_its_history(client, cast, tr):
    assessment = rules.save_assessment(application=tr, assessor=cast.coordinator, marks=GOOD, reasons={}, comment="Strong.")
    version = assessment.history.first().history_id
    url = f"/admin/applications/assessment/{assessment.pk}/history/{version}/"
    response = login_staff(client, cast.alice).post(url, {"comment": "Weak.", "conflict_of_interest": "on"})
    assert response.status_code == 403
    assessment.refresh_from_db()
    assert (assessment.comment, assessment.conflict_of_interest) == ("Strong.", False)


@pytest.mark.parametrize("page", ["history/", "history/{version}/"])
def test_a_assessor_cannot_read_another_states_reviews_through_the_history(client, cast, tr, page):
    assessment = rules.save_assessment(
        application=tr, assessor=cast.bob, marks={}, reasons={}, conflict=True, conflict_reason="Board member"
    )
    url = f"/admin/applications/assessment/{assessment.pk}/" + page.format(version=assessment.history.first().history_id)
    response = login_staff(client, cast.alice).get(url)
    assert response.status_code == 403
    assert b"Ankara" not in response.content and b"Board member" not in response.content


def test_a_assessor_cannot_read_her_own_applications_history(client, cast, ke):
    # The history of an application holds fields she does not see, such as the mean score over time.
    assert login_staff(client, cast.alice).get(f"/admin/applications/application/{ke.pk}/history/").status_code == 403


def test_the_change_page_hides_the_mean_from_a_assessor_who_has_not_reviewed(client, cast, ke, kenya):
    AssessorAssignment.objects.create(assessor=cast.bob, review=kenya)
    rules.save_assessment(application=ke, assessor=cast.bob, marks=GOOD, reasons={})
    body = login_staff(client, cast.alice).get(f"/admin/applications/application/{ke.pk}/change/").content.decode()
    assert "8.20" not in body and "Mean score" not in body and "mean score" not in body


@pytest.mark.parametrize(
    "lookup",
    ["score_mean__gte=8", "score_mean__lt=8.5", "score_count__gte=1", "score_spread__isnull=False", "assessments__total__gte=8"],
)
def test_a_assessor_cannot_bisect_the_mean_with_a_lookup(client, cast, ke, kenya, lookup):
    AssessorAssignment.objects.create(assessor=cast.bob, review=kenya)
    rules.save_assessment(application=ke, assessor=cast.bob, marks=GOOD, reasons={})
    response = login_staff(client, cast.alice).get(f"/admin/applications/application/?{lookup}")
    assert response.status_code == 400


def test_the_order_of_a_assessors_list_does_not_depend_on_other_assessors_marks(client, cast, kenya):
    AssessorAssignment.objects.create(assessor=cast.bob, review=kenya)
    first, second = make_application(kenya, name="First"), make_application(kenya, name="Second")
    login_staff(client, cast.alice)
    columns = len(client.get("/admin/applications/application/").context["cl"].list_display)

    def orders():
        lists = {}
        for o in ["", *[str(i) for i in range(columns)], *[f"-{i}" for i in range(columns)]]:
            response = client.get(f"/admin/applications/application/?o={o}")
            lists[o] = [a.pk for a in response.context["cl"].result_list]
        return lists

    rules.save_assessment(application=first, assessor=cast.bob, marks=GOOD, reasons={})
    rules.save_assessment(application=second, assessor=cast.bob, marks=POOR, reasons={})
    before = orders()
    Assessment.objects.all().delete()
    rules.save_assessment(application=first, assessor=cast.bob, marks=POOR, reasons={})
    rules.save_assessment(application=second, assessor=cast.bob, marks=GOOD, reasons={})
    assert orders() == before


def test_the_review_page_does_not_show_the_organisations_other_states(client, cast, ke, turkiye):
    elsewhere = make_application(turkiye, name="Elsewhere")
    Application.objects.filter(pk=elsewhere.pk).update(organisation=ke.organisation, status="not_selected")
    body = login_staff(client, cast.alice).get(f"/admin/applications/application/{ke.pk}/assess/").content.decode()
    assert "Türkiye" not in body and "Not selected" not in body
    assert "First application." in body


def test_the_coordinator_still_sees_the_organisations_whole_history(client, cast, ke, turkiye):
    elsewhere = make_application(turkiye, name="Elsewhere")
    Application.objects.filter(pk=elsewhere.pk).update(organisation=ke.organisation)
    body = login_staff(client, cast.coordinator).get(f"/admin/applications/application/{ke.pk}/assess/").content.decode()
    assert "Türkiye" in body


def test_the_next_application_to_review_does_not_depend_on_others_reviews(client, cast, kenya):
    AssessorAssignment.objects.create(assessor=cast.bob, review=kenya)
    first, second = make_application(kenya, name="First"), make_application(kenya, name="Second")
    login_staff(client, cast.alice)
    before = client.get("/admin/applications/application/assess/next/")["Location"]
    rules.save_assessment(application=first, assessor=cast.bob, marks=GOOD, reasons={})
    assert client.get("/admin/applications/application/assess/next/")["Location"] == before
    assert before == f"/admin/applications/application/{first.pk}/assess/"
    assert second.pk  # the other one comes next, after hers


def test_after_a_merge_each_applicant_sees_and_keeps_their_own_address(client, kenya, cast):
    from applications.assessment import merge_organisations
    from outbox.models import Email
    from tests.factories import application_post

    client.post("/sessions/60/apply/", application_post(kenya, email="first@example.org"))
    client.post("/sessions/60/apply/", application_post(kenya, email="second@example.org"))
    first, second = Application.objects.get(email="first@example.org"), Application.objects.get(email="second@example.org")
    merge_organisations(first.organisation, [second.organisation])
    second.refresh_from_db()
    page = client.get(second.get_private_url() + "edit/").content.decode()
    assert 'value="second@example.org"' in page and "first@example.org" not in page
    client.post(second.get_private_url() + "edit/", application_post(kenya, email="second@example.org"))
    assert not Email.objects.filter(kind="email-change-confirm").exists()
