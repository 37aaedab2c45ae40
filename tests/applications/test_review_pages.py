"""Issue 19, the pages: the coordinator assigns reviewers for a session; each reviewer sees their own queue, and only theirs."""

import pytest

from applications.models import ReviewAssignment
from tests.applications.test_review_assignment import pool, reviewer  # noqa: F401 -- a fixture
from tests.factories import login_staff

pytestmark = pytest.mark.django_db


def test_the_coordinator_proposes_adjusts_and_applies(client, cast, open_session, pool):  # noqa: F811
    team = [reviewer(f"r{n}", f"r{n}@reviewers-{n}.test") for n in range(3)]
    conflicted = reviewer("rita", "rita@ke-group-0.test")
    login_staff(client, cast.coordinator)
    page = client.get("/staff/sessions/60/reviewers/")
    assert page.status_code == 200 and "No proposal waiting." in page.content.decode()
    assert "same email or web domain" in page.content.decode()  # rita and KE Group 0

    client.post("/staff/sessions/60/reviewers/", {"action": "propose"})
    pending = ReviewAssignment.objects.filter(applied_at__isnull=True)
    assert pending.count() == 2 * len(pool) and not pending.filter(application=pool[0], reviewer=conflicted).exists()
    dropped = pending.first()
    client.post("/staff/sessions/60/reviewers/", {"action": "drop", "assignment": str(dropped.pk)})
    assert not ReviewAssignment.objects.filter(pk=dropped.pk).exists()
    refused = client.post(
        "/staff/sessions/60/reviewers/",
        {"action": "add", "application": str(pool[0].pk), "reviewer": str(conflicted.pk)},
        follow=True,
    )
    assert "has a conflict" in refused.content.decode()
    assert client.post("/staff/sessions/60/reviewers/", {"action": "add", "application": "²", "reviewer": "x"}).status_code == 302
    client.post("/staff/sessions/60/reviewers/", {"action": "apply"})
    assert ReviewAssignment.objects.filter(applied_at__isnull=False).count() == 2 * len(pool) - 1
    assert not ReviewAssignment.objects.filter(applied_at__isnull=True).exists()
    assert team


def test_an_assessor_cannot_assign_and_sees_only_their_own_queue(client, cast, open_session, pool):  # noqa: F811
    a, b = reviewer("ann", "ann@a-reviewer.test"), reviewer("ben", "ben@b-reviewer.test")
    ReviewAssignment.objects.create(application=pool[0], reviewer=a, applied_at=open_session.call.opens_at)
    ReviewAssignment.objects.create(application=pool[1], reviewer=b, applied_at=open_session.call.opens_at)
    login_staff(client, b)
    assert client.get("/staff/sessions/60/reviewers/").status_code == 403
    assert client.post("/staff/sessions/60/reviewers/", {"action": "propose"}).status_code == 403
    queue = client.get("/staff/reviews/").content.decode()
    assert pool[1].organisation.name in queue and pool[0].organisation.name not in queue
    assert "0 of 1 application reviewed." in queue


def test_the_reviewers_page_costs_the_same_queries_with_more_reviewers_and_applications(client, cast, open_session, kenya, pool):  # noqa: F811
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from applications import reviewing
    from tests.factories import make_application

    login_staff(client, cast.coordinator)

    def count() -> int:
        with CaptureQueriesContext(connection) as queries:
            assert client.get("/staff/sessions/60/reviewers/").status_code == 200
        return len(queries)

    reviewer("r0", "r0@ke-group-1.test")
    reviewing.propose(open_session)
    few = count()
    for n in range(1, 5):
        reviewer(f"r{n}", f"r{n}@ke-group-{n + 1}.test")  # each with a conflict
        make_application(kenya, name=f"More {n}", email=f"x@more-{n}.test", match=True)
    reviewing.propose(open_session)
    assert count() == few
