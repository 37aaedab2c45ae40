"""The application list and the dashboard cost the same number of queries with 10 or 2,000 applications."""

import itertools

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from applications.models import Application, Organisation
from presessions.models import Theme
from tests.factories import login_staff, make_application

pytestmark = pytest.mark.django_db


def bulk_applications(reviews, count):
    """Create `count` submitted, eligible applications spread over `reviews`, with themes, in a few queries."""
    themes = list(Theme.objects.order_by("pk")[:6])
    start = Organisation.objects.count()
    orgs = Organisation.objects.bulk_create(
        Organisation(
            name=f"Org {start + i}",
            kind="nhri" if i % 11 == 0 else "cso",
            scope=["national", "international"][i % 2],
            country="KE",
            is_coalition=i % 5 == 0,
            email=f"org{start + i}@example.org",
        )
        for i in range(count)
    )
    cycle = itertools.cycle(reviews)
    apps = Application.objects.bulk_create(
        Application(
            review=next(cycle),
            organisation=org,
            email=org.email,
            status="submitted",
            screening="eligible",
            speaker_gender=["woman", "man", "non_binary"][i % 3],
            report_submitted=["alone", "none"][i % 2],
            link_key=f"key-{org.pk}",
            submitted_at=timezone.now(),
            score_mean=i % 10,
            score_count=1,
            score_spread=0,
        )
        for i, org in enumerate(orgs)
    )
    through = Application.themes.through
    through.objects.bulk_create(through(application_id=a.pk, theme_id=themes[i % len(themes)].pk) for i, a in enumerate(apps))


def _count(client, url):
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(url)
        assert response.status_code == 200
    return len(ctx.captured_queries)


@pytest.mark.parametrize("who", ["coordinator", "alice"])
@pytest.mark.parametrize("url", ["/admin/applications/application/", "/admin/applications/application/?mine=todo&o=8"])
def test_application_list_queries_do_not_grow(client, cast, kenya, turkiye, who, url):
    login_staff(client, getattr(cast, who))
    bulk_applications([kenya, turkiye], 10)
    small = _count(client, url)
    bulk_applications([kenya, turkiye], 1990)
    assert Application.objects.count() == 2000
    assert _count(client, url) == small


def test_dashboard_queries_do_not_grow(client, cast, kenya, turkiye):
    login_staff(client, cast.coordinator)
    bulk_applications([kenya, turkiye], 10)
    small = _count(client, "/staff/sessions/60/dashboard/")
    bulk_applications([kenya, turkiye], 1990)
    assert _count(client, "/staff/sessions/60/dashboard/") == small


def test_dashboard_figures_match_a_count_by_hand(client, cast, kenya, turkiye):
    make_application(kenya, name="A", kind="nhri", gender="man")
    make_application(kenya, name="B", scope="international", country="CH", gender="woman", coalition=True)
    make_application(turkiye, name="C", report="none", gender="non_binary")
    make_application(turkiye, name="Draft", status="draft")
    login_staff(client, cast.coordinator)
    response = client.get("/staff/sessions/60/dashboard/")
    context = response.context
    assert context["total"] == 3
    shares = {share.label: {part.label: part.count for part in share.parts} for share in context["shares"]}
    assert shares["Kind"] == {"NHRI": 1, "CSO": 2}
    assert shares["Scope"] == {"National": 2, "Regional": 0, "International": 1}
    assert shares["UPR report"] == {"Submitted a report": 2, "No report": 1}
    assert shares["Coalitions"] == {"Coalition": 1, "Single organisation": 2}
    assert shares["Speakers' gender"] == {"Woman": 1, "Man": 1, "Non-binary": 1, "Prefer not to say": 0}
    assert [(r.name, r.applications_count) for r in context["per_state"]] == [("Kenya", 2), ("Türkiye", 1)]
    assert [row["name"] for row in context["progress"]] == ["alice", "bob"]
    assert "<svg" in response.content.decode()
