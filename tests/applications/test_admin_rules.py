"""Issue 14: the admin follows the same rules as the pages (screening, panels, organisations)."""

import pytest

from applications.models import Application, Organisation
from panels import domain
from panels.models import Panel, PanelMember
from tests.factories import finalise, login_staff, make_application

pytestmark = pytest.mark.django_db


def test_mark_eligible_skips_withdrawn_applications_and_keeps_history(client, cast, kenya):
    login_staff(client, cast.coordinator)
    pending = make_application(kenya, name="Pending", screening="pending")
    gone = make_application(kenya, name="Gone", screening="pending", status="withdrawn")
    response = client.post(
        "/admin/applications/application/",
        {"action": "mark_eligible", "_selected_action": [pending.pk, gone.pk], "index": 0},
        follow=True,
    )
    assert response.status_code == 200
    pending.refresh_from_db()
    gone.refresh_from_db()
    assert (pending.screening, gone.screening) == ("eligible", "pending")
    assert pending.history.first().history_user == cast.coordinator
    assert "1 application(s) left as they were" in response.content.decode()


def test_the_change_form_wants_a_reason_for_ineligible(client, cast, kenya):
    login_staff(client, cast.coordinator)
    application = make_application(kenya, name="Needs reason")
    url = f"/admin/applications/application/{application.pk}/change/"
    form = client.get(url).context["adminform"].form
    data = {k: v for k, v in form.initial.items() if v is not None and not isinstance(v, list | dict)}
    data.update(
        {
            "themes": [],
            "screening": "ineligible",
            "screening_reason": "",
            "review": application.review_id,
            "organisation": application.organisation_id,
        }
    )
    response = client.post(url, data)
    assert response.status_code == 200
    assert "Give the reason it is ineligible." in response.content.decode()
    application.refresh_from_db()
    assert application.screening == "eligible"


def test_the_panel_admin_is_a_read_only_record(client, cast, kenya):
    login_staff(client, cast.coordinator)
    for i in range(4):
        make_application(kenya, name=f"Org {i}", gender="woman" if i % 2 else "man")
    panel = domain.compose_panel(kenya)
    finalise(panel)
    member = panel.members.filter(role="speaker").first()
    page = client.get(f"/admin/panels/panel/{panel.pk}/change/")
    assert page.status_code == 200
    assert 'name="status"' not in page.content.decode() and 'name="locked"' not in page.content.decode()
    client.post(f"/admin/panels/panel/{panel.pk}/change/", {"status": "draft"})
    client.post(f"/admin/panels/panelmember/{member.pk}/change/", {"role": "reserve", "position": 9})
    assert Panel.objects.get(pk=panel.pk).status == "finalised"
    member.refresh_from_db()
    assert (member.role, member.position) == ("speaker", member.position)
    assert client.post(f"/admin/panels/panel/{panel.pk}/delete/", {"post": "yes"}).status_code == 403
    assert PanelMember.objects.filter(pk=member.pk).exists()


def test_organisation_pages_show_the_identity_to_coordinators_only(client, cast, kenya, turkiye):
    a = make_application(kenya, name="Shared Org", email="info@shared.or.ke", match=True)
    b = make_application(turkiye, name="SHARED ORG", email="office@shared.or.ke", match=True)
    login_staff(client, cast.coordinator)
    for url in (
        f"/admin/applications/organisation/{b.organisation_id}/change/",
        f"/admin/applications/organisation/{b.organisation_id}/history/",
        f"/admin/applications/application/{b.pk}/change/",
    ):
        response = client.get(url)
        assert response.status_code == 200, url
    body = client.get(f"/admin/applications/organisation/{b.organisation_id}/change/").content.decode()
    assert "same email domain" in body and "Kenya" in body  # the other application of the same organisation
    # Alice reviews Kenya only: nothing of the Turkish application reaches her through the Kenyan record.
    login_staff(client, cast.alice)
    body = client.get(f"/admin/applications/organisation/{a.organisation_id}/change/").content.decode()
    assert "Türkiye" not in body and "SHARED ORG" not in body
    # Splitting keeps the records apart from then on.
    login_staff(client, cast.coordinator)
    client.post("/admin/applications/organisation/", {"action": "split", "_selected_action": [b.organisation_id], "index": 0})
    b.organisation.refresh_from_db()
    assert b.organisation.identity_id == b.organisation_id
    assert Organisation.objects.count() == 2 and Application.objects.count() == 2
