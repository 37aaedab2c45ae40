"""
The demo's past session: the latest session whose Pre-session week is over, run from call to
record, so that a newcomer's `make run` shows what the missions see (a published schedule with a
later corrected release, its meeting pages, ICS and JSON feeds, public statements) and what staff
see after the week.

Everything goes through the same functions staff use (compose, finalise, send the decisions,
confirm, build and publish the schedule), so the demo cannot show a state the product could not
reach. Loading the demo again leaves a past session that already has a schedule alone.
"""

from __future__ import annotations

import datetime as dt
import random

from django.core.files.base import ContentFile
from django.utils import timezone

from applications.demo import generate_applications, generate_assessments
from applications.enums import Publication
from outbox.delivery import approve_drafts, send_approved, sweep_outbox
from outbox.models import Email
from presessions.models import Call, Session, call_close_moment, call_open_moment

from . import attendance, domain, publishing, training
from .enums import MemberRole
from .models import PanelMember, ScheduleRelease, TrainingDay

# A one-page PDF with one line of text: the demo's written statements.
STATEMENT_PDF = (
    b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n2 0 obj<</Type/Pages/Kids[3 0 R]/Count 1>>endobj\n"
    b"3 0 obj<</Type/Page/Parent 2 0 R/MediaBox[0 0 595 842]/Resources<</Font<</F1 5 0 R>>>>/Contents 4 0 R>>endobj\n"
    b"4 0 obj<</Length 61>>stream\nBT /F1 14 Tf 72 770 Td (Written statement - demo) Tj ET\n\nendstream endobj\n"
    b"5 0 obj<</Type/Font/Subtype/Type1/BaseFont/Helvetica>>endobj\n"
    b"trailer<</Root 1 0 R>>\n%%EOF\n"
)


def past_session(today: dt.date) -> Session | None:
    """The latest session whose Pre-session week ended before `today` and that has States to hold meetings on."""
    for session in Session.objects.filter(start_date__lt=today).order_by("-number")[:12]:
        timeline = session.timeline
        if timeline is not None and timeline.presessions_end < today and session.reviews.taking_place().exists():
            return session
    return None


def run_past_session(session: Session, *, seed: int = 2012, now: dt.datetime | None = None) -> dict:
    """
    Run `session` from its call to its published schedule; return counts for the demo's summary.

    Side effects, in order: a call in the past (the timeline's window); applications and
    assessments as for the open call; every panel composed and finalised; the decision emails
    approved and sent; every speaker confirms (most attend the training); consenting speakers'
    statements published; the schedule built and published, then one meeting moved and published
    again, so the changes page has two releases; missions announce which meetings they will
    attend, and most are checked in.
    """
    now = now or timezone.now()
    rng = random.Random(f"past-{seed}-{session.number}")
    timeline = session.timeline
    Call.objects.update_or_create(
        session=session,
        defaults={"opens_at": call_open_moment(timeline.call_opens), "closes_at": call_close_moment(timeline.call_closes)},
    )
    session.refresh_from_db()
    applications = generate_applications(session, seed=seed)
    generate_assessments(session, seed=seed)

    panels = domain.compose_session(session)
    for panel in panels:
        domain.finalise_panel(panel, now=now)
    approve_drafts(Email.objects.filter(status="draft", kind__startswith="decision-"))
    send_approved(Email.objects.filter(status="approved"))
    sweep_outbox()

    speakers = PanelMember.objects.filter(panel__review__session=session, role=MemberRole.SPEAKER).select_related("application")
    for member in speakers.order_by("pk"):
        member = domain.confirm_participation(member, attends_training=rng.random() < 0.85, now=now)
        if member.application.publication != Publication.NOTHING:
            member.statement_file.save(f"statement-{member.pk}.pdf", ContentFile(STATEMENT_PDF), save=False)
            PanelMember.objects.filter(pk=member.pk).update(
                statement_file=member.statement_file.name,
                statement_language="en",
                statement_uploaded_at=now,
                statement_public=True,
            )

    publishing.build_schedule(session)
    start = timezone.make_aware(dt.datetime.combine(timeline.presessions_start, dt.time(9)))
    publishing.publish(session, name="v1", now=start - dt.timedelta(days=14))
    # A correction a week later: the first meeting moves to another room.
    moved = session.reviews.filter(placement__starts_at__isnull=False).order_by("placement__starts_at").first()
    if moved is not None:
        publishing.move_meeting(moved, starts_at=moved.placement.starts_at, room="Room XXIV")
    publishing.publish(session, name="v2", now=start - dt.timedelta(days=7))
    missions = add_missions(session, rng, now=now)
    # The training, the day before the first meeting; most of those who said they would come came.
    day = TrainingDay.objects.create(session=session, date=timeline.presessions_start - dt.timedelta(days=1), place="Geneva")
    training.invite(day, now=now)
    training.record_attendance(
        day, {member.pk for member in training.roster(day).filter(attends_training=True) if rng.random() < 0.9}
    )
    return {
        "missions": missions,
        "applications": applications,
        "panels": len(panels),
        "speakers": speakers.filter(confirmed_at__isnull=False).count(),
        "releases": ScheduleRelease.objects.filter(session=session).count(),
    }


# Permanent missions that announce themselves, then come (most of them) or not.
DEMO_MISSIONS = ["BR", "CA", "CH", "DE", "FR", "GB", "IN", "JP", "KE", "MX", "NL", "NO", "SE", "SN", "ZA", "AR", "AU", "CL"]


def add_missions(session: Session, rng: random.Random, *, now: dt.datetime) -> int:
    """Missions answer for some meetings (confirmed), and staff check most of them in, with a few that did not announce themselves."""
    meetings = list(session.reviews.filter(meeting_date__isnull=False).order_by("meeting_date", "meeting_start"))
    if not meetings:
        return 0
    for code in DEMO_MISSIONS:
        chosen = rng.sample(meetings, rng.randint(1, min(4, len(meetings))))
        registration = attendance.register(
            session,
            mission=code,
            email=f"delegate@mission-{code.lower()}.example.org",
            language=rng.choice(["en", "en", "fr", "es"]),
            choices={review.pk: rng.randint(1, 3) for review in chosen},
        )
        attendance.confirm(registration, now=now)
        for choice in registration.choices.all():
            if rng.random() < 0.8:
                attendance.check_in(choice.review, mission=code, delegates=choice.delegates, now=now)
    for review in meetings:
        attendance.check_in(review, mission=rng.choice(["ID", "PH", "TH", "EG"]), delegates=1, now=now)
        # Most States under Review take the floor first (a brief statement, no questions).
        attendance.record_state_statement(review, taken=rng.random() < 0.7, now=now)
    return len(DEMO_MISSIONS)


def add_demo_past_session(sender, session, seed, stdout=None, **kwargs):
    """demo_loaded's receiver: run the latest past session, unless it has a schedule already (or settings.DEMO_PAST_SESSION is off)."""
    from django.conf import settings

    if not settings.DEMO_PAST_SESSION:
        return
    past = past_session(timezone.localdate())
    if past is None or past.pk == session.pk or ScheduleRelease.objects.filter(session=past).exists():
        return
    done = run_past_session(past, seed=seed)
    if stdout is not None:
        stdout.write(
            f"Past session for the missions' view: Working Group {past.number}, {done['applications']} applications, "
            f"{done['panels']} panels, {done['speakers']} confirmed speakers, {done['missions']} missions, "
            f"{done['releases']} schedule releases "
            f"at /sessions/{past.number}/schedule/"
        )
