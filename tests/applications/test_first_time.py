"""
Issue 18, the record's first-time organisations: an application is marked, when it is submitted,
by whether any copy of its organisation applied to an earlier session. The mark follows staff's
merges and splits, and outlives the erasure of the personal data (the identity that decided it).
"""

import datetime as dt

import pytest
from django.utils import timezone

from applications import identity, privacy
from applications.models import Application
from panels import record
from tests.factories import application_post, make_application, make_session

pytestmark = pytest.mark.django_db


def apply(client, review, **overrides):
    response = client.post(f"/sessions/{review.session.number}/apply/", application_post(review, **overrides))
    assert response.status_code in (302, 303), response.content[:2000]
    return Application.objects.latest("pk")


def test_an_organisation_that_applied_to_an_earlier_session_is_not_a_first_timer(client, kenya):
    earlier = make_session(number=58, start=dt.date(2026, 1, 19), states=("KE",))
    make_application(earlier.reviews.get(), name="Kenya Human Rights Forum", email="info@kenya-hr.example.org", match=True)

    returning = apply(client, kenya)  # contact@kenya-hr.example.org: the same domain
    newcomer = apply(
        client,
        kenya,
        email="hello@forum-nouveau.example.net",
        **{"org-name": "Forum nouveau", "org-acronym": "", "org-website": ""},
    )
    assert returning.organisation.identity_id != returning.organisation.pk  # matched to the earlier copy
    assert Application.objects.get(pk=returning.pk).first_time is False
    assert Application.objects.get(pk=newcomer.pk).first_time is True
    assert Application.objects.get(review__session=earlier).first_time is True

    [row] = [r for r in record.figures("session") if r.key == kenya.session.number]
    assert row.first_timers == 1 and row.first_timers_selected == 0


def test_a_draft_is_marked_only_when_it_is_submitted(client, kenya):
    draft = apply(client, kenya, action="draft")
    assert draft.status == "draft" and draft.first_time is None


def test_staff_merge_and_split_move_the_mark(kenya, cast):
    earlier = make_session(number=58, start=dt.date(2026, 1, 19), states=("KE",))
    old = make_application(earlier.reviews.get(), name="Old Friends", email="a@old-friends.example.org", match=True)
    new = make_application(kenya, name="New Name", email="b@new-name.example.net", match=True)
    identity.refresh_first_time([old.organisation.root_id, new.organisation.root_id])
    assert Application.objects.get(pk=new.pk).first_time is True

    identity.merge(old.organisation, [new.organisation], by=cast.coordinator)
    assert Application.objects.get(pk=new.pk).first_time is False
    assert Application.objects.get(pk=old.pk).first_time is True

    new.organisation.refresh_from_db()
    identity.split(new.organisation, by=cast.coordinator)
    assert Application.objects.get(pk=new.pk).first_time is True


def test_the_count_of_first_timers_outlives_the_purge(client, kenya):
    earlier = make_session(number=58, start=dt.date(2026, 1, 19), states=("KE",))
    make_application(earlier.reviews.get(), name="Kenya Human Rights Forum", email="info@kenya-hr.example.org", match=True)
    apply(client, kenya)
    apply(client, kenya, email="x@another.example.net", **{"org-name": "Another", "org-acronym": "", "org-website": ""})
    before = {row.key: (row.first_timers, row.applications) for row in record.figures("session")}
    assert before[kenya.session.number] == (1, 2)

    end = privacy.presession_end(kenya.session)
    privacy.purge(now=timezone.make_aware(dt.datetime.combine(end + dt.timedelta(days=800), dt.time(12))))
    assert not Application.objects.filter(erased_at__isnull=True).exists()  # the check below can fail
    after = {row.key: (row.first_timers, row.applications) for row in record.figures("session")}
    assert after == before


def test_a_match_is_the_strongest_rule_first_then_the_earliest_copy_in_one_query(kenya, django_assert_num_queries):
    """Issue 20 made find_match one query: the rules keep their order (domain, website, name, acronym)."""
    from applications.models import Organisation

    by_name = make_application(kenya, name="Haki Forum", email="a@haki-forum.example.net", match=True).organisation
    by_acronym = make_application(kenya, name="Other", acronym="HKF", email="b@other.example.net", match=True).organisation
    by_domain = make_application(kenya, name="Unrelated", email="c@haki.example.com", match=True).organisation
    newcomer = Organisation(name="Haki Forum", acronym="HKF", email="d@haki.example.com", country="KE", kind="cso")
    with django_assert_num_queries(1):
        match, reason = identity.find_match(newcomer)
    assert (match.pk, reason) == (by_domain.pk, "domain")  # the later copy, by the stronger rule
    newcomer.email = "d@elsewhere.example.org"
    assert identity.find_match(newcomer) == (by_name, "name")
    newcomer.name = "Nothing alike"
    assert identity.find_match(newcomer) == (by_acronym, "acronym")
    newcomer.acronym = ""
    assert identity.find_match(newcomer) == (None, "")
