"""
Build the week's schedule, publish it as an immutable release, and tell
subscribers what changed.

A release's payload holds only what may be public: times, rooms, the agenda
and, for each speaker, the organisation and the name only where they agreed
to it (otherwise the kind of organisation, e.g. "a national CSO").
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json

from django.conf import settings
from django.contrib.admin.models import ADDITION, LogEntry
from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.db.models import Exists, Max, OuterRef, Prefetch, QuerySet
from django.utils import timezone
from django.utils.formats import date_format, time_format
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from applications import assessment as assessment_rules
from applications.enums import ApplicationStatus, Publication, decision_email_kind
from applications.models import told_decisions
from outbox import links
from outbox.delivery import queue_email
from outbox.links import absolute, dedupe_key
from presessions import caching
from presessions.models import Session, StateReview

from . import scheduling
from .enums import MemberRole, PanelStatus
from .models import MeetingPlacement, PanelMember, PanelRules, ScheduleDay, ScheduleRelease, ScheduleSubscription

TUESDAY_TO_FRIDAY = 4

# When the mornings as planned cannot hold every State's meeting, building the week first lets the
# mornings end later, a quarter of an hour at a time, but never after LATEST_END: an hour past the
# default end (13:00), so that the meetings stay a morning's business for the missions' delegates. Only then
# does it add mornings (at the usual hours, also lengthened if need be): the Monday of the week
# first, then the weekdays after the last morning, before the Working Group opens, at most
# MAX_ADDED_MORNINGS of them. Staff are told in words what changed, and can undo it in the admin.
LATEST_END = dt.time(14, 0)
LENGTHEN_STEP_MINUTES = 15
MAX_ADDED_MORNINGS = 3


def planned_days(session: Session) -> list[ScheduleDay]:
    """
    The mornings of the Pre-session week: those saved, or (unsaved) the ones the timeline proposes.

    Reading them writes nothing; build_schedule saves them (lengthened or with more mornings if need be).
    """
    days = list(session.schedule_days.all())
    if days or session.timeline is None:
        return days
    rules = PanelRules.for_session(session)
    start = session.timeline.presessions_start
    length = (session.timeline.presessions_end - start).days + 1
    return [
        ScheduleDay(
            session=session,
            date=start + dt.timedelta(days=offset),
            start=rules.day_start,
            end=rules.day_end,
            room=rules.default_room,
        )
        for offset in range(max(1, min(length, 7)))
    ]


def _spare_days(session: Session, days: list[ScheduleDay], rules: PanelRules) -> list[ScheduleDay]:
    """
    The mornings the week may gain, in order: the weekdays before the first morning in its week (the
    Monday of a Tuesday-to-Friday week), then the weekdays after the last morning, before the Working
    Group opens; at most MAX_ADDED_MORNINGS. Unsaved.
    """
    if not days:
        return []
    taken = {day.date for day in days}
    first, last = min(taken), max(taken)
    before = [first - dt.timedelta(days=n) for n in range(1, first.weekday() + 1)]
    after = [last + dt.timedelta(days=n) for n in range(1, 3 * MAX_ADDED_MORNINGS)]
    dates = [
        date
        for date in before + after
        if date not in taken and date.weekday() < 5 and (session.start_date is None or date < session.start_date)
    ]
    return [
        ScheduleDay(session=session, date=date, start=rules.day_start, end=rules.day_end, room=rules.default_room)
        for date in dates[:MAX_ADDED_MORNINGS]
    ]


def public_speakers() -> QuerySet[PanelMember]:
    """
    The speakers the public may know of: told (their selection email has left the outbox), confirmed,
    and neither declined nor removed since. Each is shown only as their consent allows.
    """
    told = told_decisions().filter(kind=decision_email_kind(ApplicationStatus.SELECTED), object_id=OuterRef("application_id"))
    return PanelMember.objects.filter(
        role=MemberRole.SPEAKER,
        confirmed_at__isnull=False,
        declined_at__isnull=True,
        application__status=ApplicationStatus.SELECTED,
    ).filter(Exists(told))


def _reviews(session: Session, *, public: bool = False):
    """The meetings of a session; each panel's speakers as `speakers` (all of them, or only the public ones)."""
    speakers = public_speakers() if public else PanelMember.objects.filter(role=MemberRole.SPEAKER, declined_at__isnull=True)
    speakers = speakers.select_related("application__organisation").order_by("position")
    return list(
        session.reviews.taking_place()
        .filter(meeting_not_held=False)
        .order_by("order")
        .select_related("panel", "placement")
        .prefetch_related(Prefetch("panel__members", queryset=speakers, to_attr="speakers"))
    )


def _speaker_count(review: StateReview, rules: PanelRules) -> int:
    panel = getattr(review, "panel", None)
    return len(panel.speakers) if panel is not None else rules.slots


def _placer_meetings(reviews: list[StateReview], rules: PanelRules, *, as_placed: bool = False) -> list[scheduling.Meeting]:
    """
    The placer's view of each meeting: its length from the panel rules, and where it stands if placed
    by hand (or, `as_placed`, wherever the draft has it).
    """
    tz = timezone.get_default_timezone()
    meetings = []
    for review in reviews:
        placement = getattr(review, "placement", None)
        stands = placement is not None and placement.starts_at is not None and (as_placed or placement.fixed)
        start = timezone.localtime(placement.starts_at, tz).replace(tzinfo=None) if stands else None
        room = placement.room if stands else ""
        meetings.append(scheduling.Meeting(review.pk, rules.meeting_minutes(_speaker_count(review, rules)), start, room))
    return meetings


def _windows(days: list[ScheduleDay]) -> list[scheduling.Window]:
    return [scheduling.Window(d.date, d.start, d.end, d.room) for d in days]


def _fit(session: Session, rules: PanelRules, days: list[ScheduleDay], reviews: list[StateReview]) -> scheduling.Schedule:
    return scheduling.fit(
        _placer_meetings(reviews, rules),
        _windows(days),
        _windows(_spare_days(session, days, rules)),
        break_minutes=rules.break_minutes,
        latest_end=LATEST_END,
        step_minutes=LENGTHEN_STEP_MINUTES,
    )


def plan_week(session: Session) -> scheduling.Schedule:
    """Where building the week would place every meeting, and what it would add to the week. Writes nothing."""
    rules = PanelRules.for_session(session)
    return _fit(session, rules, planned_days(session), _reviews(session))


@transaction.atomic
def build_schedule(session: Session) -> scheduling.Schedule:
    """
    Place every meeting of the session (hand-placed ones stay) and return the result.

    Side effects, in order: the mornings are saved, lengthened or added as the week needs to hold
    every meeting (see LATEST_END); then each meeting's draft placement.
    """
    rules = PanelRules.for_session(session)
    days = planned_days(session)
    reviews = _reviews(session)
    result = _fit(session, rules, days, reviews)
    ends = {window.day: window.end for window, _before in result.lengthened}
    for day in days:
        if day.pk is None or day.date in ends:
            day.end = ends.get(day.date, day.end)
            day.save()
    for window in result.added:
        ScheduleDay.objects.create(session=session, date=window.day, start=window.start, end=window.end, room=window.room)
    tz = timezone.get_default_timezone()
    placed = {slot.key: slot for slot in result.slots}
    for review in reviews:
        slot = placed.get(review.pk)
        MeetingPlacement.objects.update_or_create(
            review=review,
            defaults={
                "starts_at": timezone.make_aware(slot.start, tz) if slot else None,
                "ends_at": timezone.make_aware(slot.end, tz) if slot else None,
                "room": slot.room if slot else "",
                "fixed": slot.fixed if slot else False,
            },
        )
    return result


def _hours(time: dt.time) -> str:
    return time_format(time, "H:i")


def describe_week_changes(result: scheduling.Schedule) -> list[str]:
    """What `fit` changed in the week, in words for staff: mornings made longer, mornings added."""
    sentences = []
    if result.lengthened:
        sentences.append(
            _("The mornings end at %(end)s instead of %(before)s.")
            % {
                "end": _hours(max(window.end for window, _before in result.lengthened)),
                "before": ", ".join(_hours(before) for before in sorted({before for _window, before in result.lengthened})),
            }
        )
    if result.added:
        days = ", ".join(
            f"{date_format(w.day, 'l j F')} ({_hours(w.start)}–{_hours(w.end)})"
            for w in sorted(result.added, key=lambda w: w.day)
        )
        count = len(result.added)
        sentences.append(
            ngettext("One more morning: %(days)s.", "%(count)d more mornings: %(days)s.", count) % {"count": count, "days": days}
        )
    if sentences and result.unplaced:
        count = len(result.unplaced)
        sentences.append(
            ngettext(
                "Even so, %(count)d meeting does not fit: add a morning or shorten the meetings in the panel rules.",
                "Even so, %(count)d meetings do not fit: add mornings or shorten the meetings in the panel rules.",
                count,
            )
            % {"count": count}
        )
    return sentences


def describe_problems(result: scheduling.Schedule, names: dict[int, str]) -> list[str]:
    """
    The problems of a schedule in words for staff, one sentence each, naming the States: never the
    placer's codes. An overlap is told once for the two meetings.
    """
    slots = {slot.key: slot for slot in result.slots}

    def state(key: int) -> str:
        return names.get(key) or _("a State no longer in the session")

    def when(key: int) -> str:
        slot = slots.get(key)
        return f"{date_format(slot.start, 'l j F')}, {_hours(slot.start.time())}–{_hours(slot.end.time())}" if slot else ""

    problems = [_("The meeting on %(state)s has no time in the week.") % {"state": state(key)} for key in result.unplaced]
    told = set()
    for key, code in result.conflicts:
        kind, _sep, other = code.partition(":")
        if kind == scheduling.OVERLAP and other.isdigit():
            pair = frozenset((key, int(other)))
            if pair not in told:
                told.add(pair)
                problems.append(
                    _("The meetings on %(state)s and %(other)s overlap (%(when)s).")
                    % {"state": state(key), "other": state(int(other)), "when": when(key)}
                )
        elif kind == scheduling.OUTSIDE_WINDOW:
            problems.append(
                _("The meeting on %(state)s (%(when)s) is outside the hours of the mornings.")
                % {"state": state(key), "when": when(key)}
            )
        else:
            problems.append(_("The meeting on %(state)s has a problem in the schedule.") % {"state": state(key)})
    return problems


def draft_problems(session: Session) -> list[str]:
    """The problems of the draft as it stands, in words: States without a time, meetings outside the mornings or overlapping."""
    rules = PanelRules.for_session(session)
    reviews = _reviews(session)
    result = scheduling.check(_placer_meetings(reviews, rules, as_placed=True), _windows(planned_days(session)))
    return describe_problems(result, {review.pk: review.name for review in reviews})


@transaction.atomic
def move_meeting(review: StateReview, *, starts_at: dt.datetime, room: str = "") -> scheduling.Schedule:
    """Place a meeting by hand, then re-flow the others around it."""
    MeetingPlacement.objects.update_or_create(review=review, defaults={"starts_at": starts_at, "room": room, "fixed": True})
    return build_schedule(review.session)


def _public_speaker(member: PanelMember) -> dict:
    """
    A speaker as a release stores them. `member` and `statement_key` are internal: serving checks
    them against who is public now (see visible_speaker) and never shows them.
    """
    application = member.application
    organisation = application.organisation
    shown = application.publication
    return {
        "member": member.pk,
        "position": member.position,
        "organisation": organisation.name if shown in (Publication.ORGANISATION, Publication.NAME_AND_ORGANISATION) else None,
        "name": application.speaker_name if shown == Publication.NAME_AND_ORGANISATION else None,
        "kind": organisation.kind,
        "scope": organisation.scope,
        "statement_key": member.statement_key if member.statement_file else None,
    }


def visible_speaker(speaker: dict, meta: dict) -> dict | None:
    """
    A release's speaker as the public may see them now, or None.

    Someone who declined, withdrew or was removed after the release is published disappears at
    once, without a new release, and is shown only as far as their consent still allows; a
    statement shows only while staff keep it public.
    """
    consent = meta["speakers"].get(speaker.get("member"))
    if consent is None:
        return None
    public = {k: v for k, v in speaker.items() if k not in ("member", "statement_key")}
    # Consent withdrawn since the release is applied at once; consent widened waits for the next release.
    if consent not in (Publication.ORGANISATION, Publication.NAME_AND_ORGANISATION):
        public["organisation"] = None
    if consent != Publication.NAME_AND_ORGANISATION:
        public["name"] = None
    key = speaker.get("statement_key")
    public["statement"] = f"/statements/{key}.pdf" if key and speaker["member"] in meta["statements"] else None
    return public


def snapshot(session: Session) -> dict:
    """What a release shows: every placed meeting, with its agenda and its public speaker data."""
    rules = PanelRules.for_session(session)
    tz = timezone.get_default_timezone()
    days: dict[str, list] = {}
    public = set(public_speakers().filter(panel__review__session=session).values_list("pk", flat=True))
    for review in _reviews(session):
        placement = getattr(review, "placement", None)
        if not placement or not placement.starts_at:
            continue
        panel = getattr(review, "panel", None)
        # Every speaker of a decided panel has a slot in the agenda, in speaking order (the NHRI first
        # by default); only the public ones are named in it, by their slot's number.
        slots = []
        if panel is not None and (panel.status == PanelStatus.FINALISED or any(m.pk in public for m in panel.speakers)):
            slots = list(panel.speakers)
        speakers = [{**_public_speaker(m), "position": i} for i, m in enumerate(slots, start=1) if m.pk in public]
        start = timezone.localtime(placement.starts_at, tz).replace(tzinfo=None)
        total = rules.meeting_minutes(len(slots) if slots else _speaker_count(review, rules))
        items = scheduling.agenda(
            start,
            len(slots),
            opening=rules.opening_minutes,
            state_statement=rules.state_statement_minutes,
            speaker_minutes=rules.speaker_minutes,
            questions=rules.questions_minutes,
            closing=rules.closing_minutes,
            total=total,
        )
        days.setdefault(start.date().isoformat(), []).append(
            {
                "iso2": review.country.code,
                "state": review.country.code,
                "order": review.order,
                "start": start.isoformat(timespec="minutes"),
                "end": (start + dt.timedelta(minutes=total)).isoformat(timespec="minutes"),
                "room": placement.room,
                "online_link": rules.online_link if session.presession_format != "in_person" else "",
                "speakers": speakers,
                "agenda": [
                    {
                        "kind": i.kind,
                        "start": i.start.isoformat(timespec="minutes"),
                        "end": i.end.isoformat(timespec="minutes"),
                        "speaker": i.speaker,
                    }
                    for i in items
                ],
            }
        )
    return {
        "session": session.number,
        "format": session.presession_format,
        "timezone": settings.TIME_ZONE,
        "days": [{"date": day, "meetings": sorted(meetings, key=lambda m: m["start"])} for day, meetings in sorted(days.items())],
    }


def _meetings(payload: dict) -> dict[str, dict]:
    return {m["iso2"]: m for day in payload.get("days", []) for m in day["meetings"]}


def diff(old: dict | None, new: dict) -> list[dict]:
    """What changed between two payloads: meetings added or removed, times, rooms and speakers."""
    if old is None:
        return []
    before, after = _meetings(old), _meetings(new)
    changes = []
    for code in sorted(set(before) | set(after)):
        a, b = before.get(code), after.get(code)
        if a is None:
            changes.append({"iso2": code, "what": "added", "before": None, "after": b["start"]})
        elif b is None:
            changes.append({"iso2": code, "what": "removed", "before": a["start"], "after": None})
        else:
            if a["start"] != b["start"]:
                changes.append({"iso2": code, "what": "time", "before": a["start"], "after": b["start"]})
            if a["room"] != b["room"]:
                changes.append({"iso2": code, "what": "room", "before": a["room"], "after": b["room"]})
            # Counts only: a change record outlives the release, and must not keep naming someone who left.
            if [s.get("member") for s in a["speakers"]] != [s.get("member") for s in b["speakers"]]:
                changes.append({"iso2": code, "what": "speakers", "before": len(a["speakers"]), "after": len(b["speakers"])})
    return changes


class ScheduleNotReady(Exception):
    """The draft has problems, and nobody gave a reason to publish it anyway."""

    def __init__(self, problems: list[str]):
        super().__init__(" ".join(problems))
        self.problems = problems


@transaction.atomic
def publish(
    session: Session, *, name: str = "", now: dt.datetime | None = None, by=None, override_reason: str = ""
) -> ScheduleRelease:
    """
    Publish the current draft as a new release.

    A draft with problems (a State without a time, a meeting outside the
    mornings, two meetings that overlap) is refused with ScheduleNotReady,
    unless a coordinator (`by`) publishes it anyway with `override_reason`.

    Side effects, in order: the release (payload, changes since the last
    one, ETag); an override, if any, in the admin log of the release (who,
    when, the problems and the reason); each meeting's date, time and room
    on its State's review; then, from the second release on, a "schedule
    updated" email to every confirmed subscriber and to the public speakers
    of the meetings that changed; the cached public pages are refreshed
    once it commits.
    """
    problems = draft_problems(session)
    reason = override_reason.strip()
    if problems and not reason:
        raise ScheduleNotReady(problems)
    if problems and (by is None or not assessment_rules.is_coordinator(by)):
        raise PermissionDenied("Only a coordinator may publish a schedule with problems.")
    now = now or timezone.now()
    previous = ScheduleRelease.objects.filter(session=session).order_by("-number").first()
    payload = snapshot(session)
    number = (ScheduleRelease.objects.filter(session=session).aggregate(n=Max("number"))["n"] or 0) + 1
    body = json.dumps(payload, sort_keys=True)
    release = ScheduleRelease.objects.create(
        session=session,
        number=number,
        name=name or f"v{number}",
        published_at=now,
        payload=payload,
        changes=diff(previous.payload if previous else None, payload),
        etag=hashlib.sha256(f"{number}:{body}".encode()).hexdigest()[:32],
    )
    if problems:
        _record_override(release, by=by, problems=problems, reason=reason)
    tz = timezone.get_default_timezone()
    for placement in MeetingPlacement.objects.filter(review__session=session).select_related("review"):
        review = placement.review
        local = timezone.localtime(placement.starts_at, tz) if placement.starts_at else None
        review.meeting_date = local.date() if local else None
        review.meeting_start = local.time() if local else None
        review.meeting_room = placement.room
        review.save(update_fields=["meeting_date", "meeting_start", "meeting_room"])
    if previous is not None and release.changes:
        _notify(release)
    # Refresh now (this transaction sees the new release) and again on commit (others may have re-read the old one meanwhile).
    caching.bump()
    caching.bump_on_commit()
    return release


def _record_override(release: ScheduleRelease, *, by, problems: list[str], reason: str) -> None:
    """Keep who published `release` despite its problems, and why, in the admin log (the release's history)."""
    message = _("Published despite these problems: %(problems)s Reason given: %(reason)s") % {
        "problems": " ".join(problems),
        "reason": reason,
    }
    LogEntry.objects.log_actions(by.pk, [release], ADDITION, change_message=message, single_object=True)


def overrides(releases) -> dict[int, LogEntry]:
    """For each of `releases` published despite problems, its admin log entry: who, when and why."""
    entries = LogEntry.objects.filter(
        content_type=ContentType.objects.get_for_model(ScheduleRelease),
        object_id__in=[str(release.pk) for release in releases],
        action_flag=ADDITION,
    ).select_related("user")
    return {int(entry.object_id): entry for entry in entries}


def _notify(release: ScheduleRelease) -> None:
    session = release.session
    recipients: dict[str, str] = {}
    subscriptions = {sub.email: sub for sub in ScheduleSubscription.objects.filter(session=session)}
    for sub in subscriptions.values():
        if sub.confirmed_at and not sub.unsubscribed_at:
            recipients[sub.email] = sub.language
    changed = {change["iso2"] for change in release.changes}
    for member in (
        public_speakers().filter(panel__review__session=session, panel__review__country__in=changed).select_related("application")
    ):
        recipients.setdefault(member.application.email, member.application.language)
    for email, language in sorted(recipients.items()):
        sub = subscriptions.get(email)
        unsubscribe = absolute("panels:subscription_unsubscribe", sign_key(sub.key)) if sub else ""
        queue_email(
            to=email,
            name="schedule-updated",
            context={
                "release": release,
                "session": session,
                "changes": release.changes,
                "schedule_url": absolute("panels:changes", session.number),
                "unsubscribe_url": unsubscribe,
            },
            language=language,
            dedupe_key=dedupe_key("schedule-updated", release.pk, email),
            related=release,
            unsubscribe_url=unsubscribe,
        )


SUBSCRIPTION_SALT = "panels.schedule-subscription"


def sign_key(key: str) -> str:
    """The token of a subscription's private links (confirm, unsubscribe)."""
    return links.sign(key, SUBSCRIPTION_SALT)


@transaction.atomic
def subscribe(session: Session, *, email: str, language: str) -> ScheduleSubscription:
    """Record a subscription and send the confirmation link (double opt-in), at most once an hour."""
    email = email.strip().lower()
    sub, _created = ScheduleSubscription.objects.get_or_create(session=session, email=email, defaults={"language": language})
    if sub.unsubscribed_at:
        ScheduleSubscription.objects.filter(pk=sub.pk).update(unsubscribed_at=None, confirmed_at=None)
        sub.refresh_from_db()
    if sub.confirmed_at is None:
        queue_email(
            to=email,
            name="schedule-subscription-confirm",
            context={"session": session, "link": absolute("panels:subscription_confirm", sign_key(sub.key))},
            language=language,
            dedupe_key=dedupe_key("schedule-subscription-confirm", sub.pk, f"{timezone.now():%Y%m%d%H}"),
            related=sub,
        )
    return sub


def latest_meta(number: int) -> dict | None:
    """
    The latest release's id, ETag and publication time, and who of its speakers is public now,
    cached (presessions.caching, mechanism 4): the public schedule is served without touching the
    database.

    Publishing, and any change to a panel member (a confirmation, a decline, a statement made
    public or withdrawn), bump the data version once committed, so the next request reads afresh.
    The ETag covers who is public, so a browser's copy is not reused after someone leaves.
    """
    return caching.shared_value(f"schedule-latest:{number}", lambda: _read_latest_meta(number)) or None


def _read_latest_meta(number: int) -> dict:
    meta = (
        ScheduleRelease.objects.filter(session__number=number)
        .order_by("-number")
        .values("pk", "etag", "published_at", "session_id")
        .first()
    )
    if meta:
        rows = public_speakers().filter(panel__review__session_id=meta["session_id"]).order_by("pk")
        rows = list(rows.values_list("pk", "statement_public", "statement_file", "application__publication"))
        meta["speakers"] = {pk: publication for pk, _public, _file, publication in rows}  # member -> consent now
        meta["statements"] = frozenset(pk for pk, public, file, _publication in rows if public and file)
        roster = hashlib.sha256(repr((sorted(meta["speakers"].items()), sorted(meta["statements"]))).encode()).hexdigest()[:8]
        meta["etag"] = f"{meta['etag']}-{roster}"
    return meta or {}
