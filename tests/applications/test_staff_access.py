"""
Who sees what on the staff side: anonymous, an assessor of Kenya (alice), a
assessor of Türkiye (bob) and a coordinator (carla). Each test seeds data
that could leak to the wrong person and checks that it does not.
"""

import pytest
from django.core.files.base import ContentFile

from applications import assessment as rules
from tests.factories import PDF_BYTES, login_staff, make_application

pytestmark = pytest.mark.django_db

GOOD = {"national": True, "report": True, "coalition": False, "quality": 4}


@pytest.fixture
def apps(cast, kenya, turkiye):
    ke = make_application(kenya, name="Kenya Forum")
    tr = make_application(turkiye, name="Ankara Rights Watch")
    pending = make_application(kenya, name="Unscreened Kenyan", screening="pending")
    tr.report_file.save("x.pdf", ContentFile(PDF_BYTES))
    yield {"ke": ke, "tr": tr, "pending": pending}
    tr.report_file.delete()


def _as(client, user):
    if user is not None:
        login_staff(client, user)
    return client


def _listed(response):
    return sorted(obj.organisation.name for obj in response.context["cl"].result_list)


@pytest.mark.parametrize(
    ("who", "expected"),
    [
        ("alice", ["Kenya Forum"]),
        ("bob", ["Ankara Rights Watch"]),
        ("coordinator", ["Ankara Rights Watch", "Kenya Forum", "Unscreened Kenyan"]),
    ],
)
def test_the_application_list_shows_each_role_its_own(client, cast, apps, who, expected):
    response = _as(client, getattr(cast, who)).get("/admin/applications/application/")
    assert _listed(response) == expected


def test_search_does_not_leak_other_states(client, cast, apps):
    response = _as(client, cast.alice).get("/admin/applications/application/?q=Ankara")
    assert _listed(response) == []
    response = _as(client, cast.alice).get("/admin/applications/organisation/?q=Ankara")
    assert response.context["cl"].result_count == 0


def test_anonymous_gets_the_login_page_everywhere(client, apps):
    ke = apps["ke"]
    for url in [
        "/admin/applications/application/",
        f"/admin/applications/application/{ke.pk}/change/",
        f"/admin/applications/application/{ke.pk}/assess/",
        "/admin/applications/application/export/",
        "/staff/sessions/60/dashboard/",
        f"/staff/applications/{ke.pk}/report.pdf",
    ]:
        response = client.get(url)
        assert response.status_code == 302 and "/login/" in response["Location"], url


@pytest.mark.parametrize(
    ("who", "app", "url", "status"),
    [
        ("alice", "ke", "/admin/applications/application/{pk}/change/", 200),
        ("alice", "tr", "/admin/applications/application/{pk}/change/", 302),  # "does not exist" for her
        ("alice", "tr", "/admin/applications/application/{pk}/history/", 403),
        ("alice", "ke", "/admin/applications/application/{pk}/assess/", 200),
        ("alice", "tr", "/admin/applications/application/{pk}/assess/", 403),
        ("alice", "pending", "/admin/applications/application/{pk}/assess/", 403),
        ("alice", "tr", "/staff/applications/{pk}/report.pdf", 403),
        ("bob", "tr", "/staff/applications/{pk}/report.pdf", 200),
        ("coordinator", "tr", "/staff/applications/{pk}/report.pdf", 200),
        ("coordinator", "tr", "/admin/applications/application/{pk}/change/", 200),
        ("coordinator", "ke", "/admin/applications/application/{pk}/history/", 200),
        ("coordinator", "ke", "/admin/applications/application/{pk}/assess/", 200),
    ],
)
def test_object_urls_per_role(client, cast, apps, who, app, url, status):
    response = _as(client, getattr(cast, who)).get(url.format(pk=apps[app].pk))
    assert response.status_code == status


@pytest.mark.parametrize(
    ("url", "alice", "coordinator"),
    [
        ("/admin/applications/application/export/", 403, 200),
        ("/staff/sessions/60/dashboard/", 403, 200),
        ("/admin/applications/criterion/", 403, 200),
        ("/admin/applications/assessorassignment/", 403, 200),
        ("/admin/applications/callalert/", 403, 200),
        ("/admin/outbox/email/", 403, 200),
        ("/admin/applications/assessment/", 200, 200),
    ],
)
def test_coordinator_only_pages(client, cast, apps, url, alice, coordinator):
    assert _as(client, cast.alice).get(url).status_code == alice
    client.logout()
    assert _as(client, cast.coordinator).get(url).status_code == coordinator


def test_a_assessor_cannot_change_an_application(client, cast, apps):
    ke = apps["ke"]
    response = _as(client, cast.alice).post(f"/admin/applications/application/{ke.pk}/change/", {"status": "withdrawn"})
    assert response.status_code == 403
    ke.refresh_from_db()
    assert ke.status == "submitted"


def test_a_assessor_sees_only_her_own_reviews(client, cast, apps):
    rules.save_assessment(application=apps["tr"], assessor=cast.bob, marks=GOOD, reasons={})
    rules.save_assessment(application=apps["ke"], assessor=cast.alice, marks=GOOD, reasons={})
    response = _as(client, cast.alice).get("/admin/applications/assessment/")
    assert [r.assessor.username for r in response.context["cl"].result_list] == ["alice"]


def test_scores_are_hidden_from_a_assessor_until_she_reviews(client, cast, apps, kenya):
    from applications.models import AssessorAssignment

    AssessorAssignment.objects.create(assessor=cast.bob, review=kenya)
    rules.save_assessment(application=apps["ke"], assessor=cast.bob, marks=GOOD, reasons={})  # 8.20
    review_page = f"/admin/applications/application/{apps['ke'].pk}/assess/"
    _as(client, cast.alice)
    for url in ["/admin/applications/application/", f"/admin/applications/application/{apps['ke'].pk}/change/", review_page]:
        assert "8.20" not in client.get(url).content.decode(), url
    rules.save_assessment(application=apps["ke"], assessor=cast.alice, marks={**GOOD, "quality": 2}, reasons={})  # 6.60
    listing = client.get("/admin/applications/application/").content.decode()
    assert "6.60" in listing and "7.40" not in listing  # her own total in the list; no mean there
    assert "Mean score: 7.40" in client.get(review_page).content.decode()  # the others' marks, once hers is saved


def test_the_review_page_saves_and_goes_to_the_next(client, cast, kenya):
    first = make_application(kenya, name="First")
    second = make_application(kenya, name="Second")
    _as(client, cast.alice)
    page = client.get("/admin/applications/application/assess/next/")
    assert page.status_code == 302
    assert page["Location"] == f"/admin/applications/application/{first.pk}/assess/"
    form = client.get(page["Location"]).content.decode()
    assert "Pre-assessed from the application: Yes" in form
    response = client.post(
        page["Location"],
        {"mark_national": "yes", "mark_report": "yes", "mark_coalition": "no", "mark_quality": "4", "action": "next"},
    )
    assert response["Location"] == "/admin/applications/application/assess/next/"
    assert client.get(response["Location"])["Location"] == f"/admin/applications/application/{second.pk}/assess/"
    first.refresh_from_db()
    assert first.score_mean is not None


def test_the_review_page_shows_errors_for_an_unexplained_override(client, cast, kenya):
    app = make_application(kenya, name="First")
    _as(client, cast.alice)
    response = client.post(
        f"/admin/applications/application/{app.pk}/assess/",
        {"mark_national": "no", "mark_report": "yes", "mark_coalition": "no", "mark_quality": "4", "action": "save"},
    )
    assert response.status_code == 200
    assert "Give a reason for overriding the pre-assessment." in response.content.decode()


def test_skip_for_now_moves_on_without_saving(client, cast, kenya):
    first = make_application(kenya, name="First")
    second = make_application(kenya, name="Second")
    _as(client, cast.alice)
    response = client.post(f"/admin/applications/application/{first.pk}/assess/", {"action": "skip"})
    assert client.get(response["Location"])["Location"] == f"/admin/applications/application/{second.pk}/assess/"
    first.refresh_from_db()
    assert first.score_count == 0


def test_the_coordinator_exports_the_ranked_list_as_csv(client, cast, apps):
    rules.save_assessment(application=apps["ke"], assessor=cast.coordinator, marks=GOOD, reasons={})
    _as(client, cast.coordinator)
    from import_export.formats.base_formats import CSV

    response = client.post(
        "/admin/applications/application/export/?state=" + str(apps["ke"].review_id),
        {
            "format": "0",
            "export_items": [],
            **{f"applicationresource_{f}": "on" for f in ["id", "state", "organisation", "score_mean"]},
        },
    )
    assert response.status_code == 200, response.content[:500]
    assert response["Content-Type"].startswith(CSV.CONTENT_TYPE)
    lines = response.content.decode().strip().splitlines()
    ke, pending = apps["ke"].pk, apps["pending"].pk
    # Ranked: scored applications first, best first, then the unscored; nothing from Türkiye.
    assert lines == ["id,state,organisation,score_mean", f"{ke},Kenya,Kenya Forum,8.20", f"{pending},Kenya,Unscreened Kenyan,"]
