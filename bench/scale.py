"""
A full cycle of data, built fast and always the same (seeded), for the benchmarks.

`build(per_state)` loads the real calendar (14 sessions of the 4th cycle), opens a call for
each session, and creates `per_state` submitted applications for every State (150 gives about
30,000), each with themes and one review; then composes every panel and publishes every
session's schedule. Rows are bulk-created: this is test data, not a replay of the web flow.

Run inside Django (see growth.py and load.py), e.g. `python manage.py shell -c "import bench.scale as s; s.build(150)"`.
"""

from __future__ import annotations

import datetime as dt
import random

from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils import timezone

from applications.assessment import ensure_rubric
from applications.models import Application, Assessment, Organisation
from panels import domain, publishing
from presessions.importers import load_calendar, load_themes
from presessions.models import Call, Session, StateReview, Theme, call_close_moment, call_open_moment

GENDERS = ["woman"] * 55 + ["man"] * 40 + ["non_binary"] * 3 + ["undisclosed"] * 2


@transaction.atomic
def build(per_state: int, *, seed: int = 2012) -> int:
    rng = random.Random(seed)
    load_calendar(today=dt.date(2026, 11, 29))
    load_themes()
    themes = list(Theme.objects.values_list("pk", flat=True))
    assessor, _ = get_user_model().objects.get_or_create(
        username="bench-assessor", defaults={"is_staff": True, "is_superuser": True}
    )
    today = timezone.localdate()
    for offset, session in enumerate(Session.objects.order_by("number")):
        if session.start_date is None:
            session.start_date = dt.date(2027, 1, 18) + dt.timedelta(weeks=20 * (offset - 11))
            session.end_date = session.start_date + dt.timedelta(days=11)
            session.save()
        Call.objects.get_or_create(
            session=session,
            defaults={
                "opens_at": call_open_moment(today - dt.timedelta(days=7)),
                "closes_at": call_close_moment(today + dt.timedelta(days=14)),
            },
        )
        ensure_rubric(session.call)
    created = 0
    through = Application.themes.through
    for review in _reviews():
        orgs = Organisation.objects.bulk_create(
            Organisation(
                name=f"Bench organisation {review.pk}-{i}",
                kind="nhri" if i == 0 else "cso",
                cso_form="" if i == 0 else "ngo",
                scope="national" if rng.random() < 0.8 else "international",
                country=review.country.code,
                is_coalition=rng.random() < 0.12,
                email=f"bench-{review.pk}-{i}@example.org",
            )
            for i in range(per_state)
        )
        apps = Application.objects.bulk_create(
            Application(
                review=review,
                organisation=org,
                email=org.email,
                status="submitted",
                screening="eligible",
                report_submitted=rng.choice(["alone", "joint", "none"]),
                speaker_name=f"Speaker {org.pk}",
                speaker_gender=rng.choice(GENDERS),
                publication=rng.choice(["nothing", "organisation", "name_and_organisation"]),
                consent_data=True,
                submitted_at=timezone.now(),
                link_key=f"bench-{org.pk}",
                score_mean=round(rng.uniform(0, 10), 2),
                score_count=1,
                score_spread=0,
            )
            for org in orgs
        )
        through.objects.bulk_create(
            through(application_id=a.pk, theme_id=t) for a in apps for t in rng.sample(themes, rng.randint(1, 3))
        )
        Assessment.objects.bulk_create(
            Assessment(application=a, assessor=assessor, marks={"quality": 3}, total=a.score_mean) for a in apps
        )
        created += len(apps)
    return created


def _reviews():
    return list(StateReview.objects.taking_place().select_related("session").order_by("session__number", "order"))


def compose_and_publish() -> None:
    """Compose and finalise-by-status every panel, then publish every session's schedule."""
    for session in Session.objects.order_by("number"):
        for panel in domain.compose_session(session):
            speakers = panel.members.filter(role="speaker").values_list("application_id", flat=True)
            Application.objects.filter(pk__in=list(speakers)).update(status="selected")
            panel.status = "finalised"
            panel.save(update_fields=["status"])
        publishing.build_schedule(session)
        publishing.publish(session)
