"""
Remote speakers in a hybrid (or in-person) series.

A confirmed speaker says whether they come to the Palais or speak remotely, and may change their
mind until their morning's Palais guest list is due (panels.palais): after that the list has gone
to the security office. A remote speaker needs no badge and no visa letter.

The link to join the meeting (StateReview.remote_link) is never on a public page, in the public
JSON or in a calendar: staff see it in the admin, and the meeting's confirmed remote speakers see
it on their private participation page from LINK_SHOWN_HOURS before the meeting until its day ends.
"""

from __future__ import annotations

import datetime as dt

from django.utils import timezone

from applications.enums import Attendance
from presessions.enums import PresessionFormat

from . import palais
from .models import PanelMember

LINK_SHOWN_HOURS = 24


class ModeLocked(Exception):
    """The speaker may not change how they take part (not a hybrid series, not confirmed, or too late)."""


def meeting_start(member: PanelMember) -> dt.datetime | None:
    review = member.panel.review
    if not review.meeting_date:
        return None
    return timezone.make_aware(dt.datetime.combine(review.meeting_date, review.meeting_start or dt.time(9)))


def mode_deadline(member: PanelMember) -> dt.datetime | None:
    """Until when the speaker may switch: their morning's guest list's due time (None while unscheduled)."""
    review = member.panel.review
    if not review.meeting_date:
        return None
    return palais.due_at(review.session, review.meeting_date)


def may_change_mode(member: PanelMember, now: dt.datetime | None = None) -> bool:
    now = now or timezone.now()
    review = member.panel.review
    # In a virtual series everyone is remote; in an in-person one a speaker may still have to speak remotely.
    if review.session.presession_format == PresessionFormat.VIRTUAL or review.meeting_not_held:
        return False
    if not member.is_speaker or not member.confirmed_at or member.declined_at:
        return False
    deadline = mode_deadline(member)
    return deadline is None or now < deadline


def change_mode(member: PanelMember, mode: str, *, now: dt.datetime | None = None) -> bool:
    """Record how the speaker takes part; return whether it changed. Raise ModeLocked when it may not change."""
    if mode not in Attendance.values:
        raise ValueError(f"unknown mode {mode!r}")
    if not may_change_mode(member, now):
        raise ModeLocked
    application = member.application
    if application.attendance == mode:
        return False
    application.attendance = mode
    application._change_reason = "attendance changed by the speaker"
    application.save(update_fields=["attendance", "updated_at"])
    return True


def link_for(member: PanelMember, now: dt.datetime | None = None) -> str:
    """The meeting's link for this speaker, or "" when they should not see it (yet)."""
    now = now or timezone.now()
    review = member.panel.review
    start = meeting_start(member)
    if not review.remote_link or start is None or review.meeting_not_held:
        return ""
    if not member.is_speaker or not member.confirmed_at or member.declined_at:
        return ""
    if member.application.attendance != Attendance.REMOTE:
        return ""
    day_ends = timezone.make_aware(dt.datetime.combine(review.meeting_date + dt.timedelta(days=1), dt.time(0)))
    if not start - dt.timedelta(hours=LINK_SHOWN_HOURS) <= now < day_ends:
        return ""
    return review.remote_link


def link_shown_from(member: PanelMember) -> dt.datetime | None:
    start = meeting_start(member)
    return start - dt.timedelta(hours=LINK_SHOWN_HOURS) if start else None
