"""
Palais access: the guest list the security office needs for each morning.

For an NGO meeting at the Palais des Nations the organiser sends the full guest list about 48
hours before; badges are issued at the gate against an identity document (DOMAIN.md; the
procedure is UNCERTAIN for the Pre-sessions, so the lead time is a setting). A morning's list holds
exactly the confirmed speakers of that morning's meetings who come in person: remote speakers
need no badge. It asks for no more than the list needs: the name as on the identity document
(the name the speaker gave), the organisation and the meeting. A speaker whose name is missing,
or who has not said how they will attend, is listed with a warning.

A daily task reminds the coordinators when a morning's list is due within a day.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.conf import settings
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from applications.enums import Attendance
from outbox.delivery import queue_email
from outbox.links import absolute_url, dedupe_key
from presessions.models import Session

from .models import PanelMember


def lead_hours() -> int:
    return int(settings.PALAIS_GUEST_LIST_HOURS)


@dataclass
class Guest:
    family_name: str
    given_names: str
    organisation: str
    meeting: str
    starts: dt.time | None
    warnings: list[str]


def split_name(name: str) -> tuple[str, str]:
    """(family name, given names) from a full name: the last word is taken as the family name; staff check the list."""
    words = name.split()
    if not words:
        return "", ""
    return words[-1], " ".join(words[:-1])


def guests(session: Session, day: dt.date) -> list[Guest]:
    """The morning's guest list: the confirmed speakers, in person, of its meetings, by meeting time then name."""
    members = (
        PanelMember.objects.filter(
            role="speaker",
            confirmed_at__isnull=False,
            declined_at__isnull=True,
            panel__review__session=session,
            panel__review__meeting_date=day,
            panel__review__meeting_not_held=False,
            application__erased_at__isnull=True,
        )
        .exclude(application__attendance=Attendance.REMOTE)
        .select_related("application__organisation", "panel__review")
        .order_by("panel__review__meeting_start", "position")
    )
    result = []
    for member in members:
        application = member.application
        family, given = split_name(application.speaker_name)
        warnings = []
        if not family:
            warnings.append(_("No speaker's name"))
        if not application.attendance:
            warnings.append(_("Has not said whether they come in person"))
        result.append(
            Guest(
                family,
                given,
                application.organisation.name,
                member.panel.review.name,
                member.panel.review.meeting_start,
                warnings,
            )
        )
    return result


def mornings(session: Session) -> list[dt.date]:
    """The mornings of a session that have meetings, in order."""
    dates = session.reviews.filter(meeting_date__isnull=False, meeting_not_held=False).values_list("meeting_date", flat=True)
    return sorted(set(dates))


def due_at(session: Session, day: dt.date) -> dt.datetime:
    """When the morning's list must reach the security office: its first meeting's start, less the lead time."""
    first = (
        session.reviews.filter(meeting_date=day, meeting_start__isnull=False)
        .order_by("meeting_start")
        .values_list("meeting_start", flat=True)
    ).first() or dt.time(9)
    return timezone.make_aware(dt.datetime.combine(day, first)) - dt.timedelta(hours=lead_hours())


def remind_coordinators(*, now: dt.datetime | None = None) -> int:
    """
    Email every coordinator once for each morning whose guest list is due within a day (and not
    past its morning); return how many emails were queued.
    """
    from .privacy import coordinators

    now = now or timezone.now()
    today = timezone.localdate(now)
    queued = 0
    sessions = Session.objects.filter(
        reviews__meeting_date__gte=today, reviews__meeting_date__lte=today + dt.timedelta(days=4)
    ).distinct()
    for session in sessions:
        for day in mornings(session):
            due = due_at(session, day)
            if day < today or not (now <= due + dt.timedelta(hours=12) and due - now <= dt.timedelta(days=1)):
                continue
            listed = guests(session, day)
            link = absolute_url(reverse("panels:guest_list", args=[session.number, day.isoformat()]))
            for user in coordinators():
                queue_email(
                    to=user.email,
                    name="guest-list-due",
                    context={
                        "session": session,
                        "day": day,
                        "due": due,
                        "count": len(listed),
                        "missing": sum(1 for guest in listed if guest.warnings),
                        "link": link,
                    },
                    language="en",
                    dedupe_key=dedupe_key("guest-list-due", session.number, day.isoformat(), user.pk),
                )
                queued += 1
    return queued
