"""
Place a session's Pre-session meetings on the mornings of the Pre-session week.

Meetings keep the Working Group's order of review. Each one lasts as its
panel needs (computed by the caller from the panel rules), and follows the
previous one after a short break; a meeting that would run past the end of
the morning's window moves to the next morning. A meeting that staff placed
by hand keeps its place, and the others flow around it. Whatever cannot fit
in the week is reported, never dropped silently, and so is every overlap or
overrun caused by a hand-placed meeting.

The agenda of one meeting follows the Pre-session format: the moderator's
opening, the State under Review's statement (it may not ask questions),
each speaker in speaking order, questions from the permanent missions, and
the closing.

When the mornings as planned cannot hold every meeting, `fit` proposes a
week that does: first the same mornings ending later (never after the
latest end the caller gives, 14:00 by default in panels.publishing), then
one more morning, then two, and so on, each time with the mornings again as
short as they can be. `check` reports the problems of a draft as it stands.

This module has no Django imports: times are naive wall-clock times in
Geneva, which is what the schedule shows.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Window:
    """One morning: its date, its opening hours and its room."""

    day: dt.date
    start: dt.time
    end: dt.time
    room: str = ""


@dataclass(frozen=True)
class Meeting:
    key: int
    minutes: int
    fixed_start: dt.datetime | None = None  # placed by hand
    room: str = ""  # a hand-placed meeting's own room, if not the morning's


@dataclass(frozen=True)
class Slot:
    key: int
    start: dt.datetime
    end: dt.datetime
    room: str
    fixed: bool = False


# The problems `conflicts` can name: a hand-placed meeting outside the hours of the mornings, or two meetings that
# overlap ("overlap:<the other meeting's key>").
OUTSIDE_WINDOW = "outside-window"
OVERLAP = "overlap"


@dataclass
class Schedule:
    slots: list[Slot] = field(default_factory=list)
    unplaced: list[int] = field(default_factory=list)
    conflicts: list[tuple[int, str]] = field(default_factory=list)  # (meeting key, "overlap:<other>" or "outside-window")
    # What `fit` changed in the week to hold every meeting: the mornings it added, and the mornings it
    # made end later, each with the end it had before.
    added: list[Window] = field(default_factory=list)
    lengthened: list[tuple[Window, dt.time]] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.unplaced and not self.conflicts


def _at(day: dt.date, time: dt.time) -> dt.datetime:
    return dt.datetime.combine(day, time)


def _pin(meetings: Sequence[Meeting], windows: Sequence[Window], result: Schedule) -> list[tuple[dt.datetime, dt.datetime, int]]:
    """Put each meeting where it was placed by hand; report those outside the mornings; return the busy times."""
    busy = []
    for meeting in meetings:
        start = meeting.fixed_start
        end = start + dt.timedelta(minutes=meeting.minutes)
        window = next((w for w in windows if w.day == start.date()), None)
        room = meeting.room or (window.room if window else "")
        result.slots.append(Slot(meeting.key, start, end, room, fixed=True))
        if window is None or start < _at(window.day, window.start) or end > _at(window.day, window.end):
            result.conflicts.append((meeting.key, OUTSIDE_WINDOW))
        busy.append((start, end, meeting.key))
    return busy


def _report_overlaps(meetings: Sequence[Meeting], result: Schedule) -> None:
    for a in meetings:
        slot_a = next(s for s in result.slots if s.key == a.key)
        for slot_b in result.slots:
            if slot_b.key != a.key and slot_a.start < slot_b.end and slot_b.start < slot_a.end:
                result.conflicts.append((a.key, f"{OVERLAP}:{slot_b.key}"))


def build(meetings: Sequence[Meeting], windows: Sequence[Window], break_minutes: int = 10) -> Schedule:
    """Place `meetings` (in the order given) into `windows`."""
    result = Schedule()
    gap = dt.timedelta(minutes=break_minutes)
    windows = sorted(windows, key=lambda w: (w.day, w.start))
    fixed = [m for m in meetings if m.fixed_start is not None]
    busy = _pin(fixed, windows, result)

    index, cursor = 0, _at(windows[0].day, windows[0].start) if windows else None
    for meeting in meetings:
        if meeting.fixed_start is not None:
            continue
        length = dt.timedelta(minutes=meeting.minutes)
        placed = False
        while index < len(windows):
            window = windows[index]
            cursor = max(cursor, _at(window.day, window.start))
            # Step past any hand-placed meeting this one would collide with.
            for start, end, _key in sorted(busy):
                if start < cursor + length and cursor < end + gap:
                    cursor = max(cursor, end + gap)
            if cursor + length <= _at(window.day, window.end):
                result.slots.append(Slot(meeting.key, cursor, cursor + length, window.room))
                busy.append((cursor, cursor + length, meeting.key))
                cursor = cursor + length + gap
                placed = True
                break
            index += 1
            if index < len(windows):
                cursor = _at(windows[index].day, windows[index].start)
        if not placed:
            result.unplaced.append(meeting.key)

    _report_overlaps(fixed, result)
    result.slots.sort(key=lambda s: (s.start, s.key))
    return result


def check(meetings: Sequence[Meeting], windows: Sequence[Window]) -> Schedule:
    """
    Report the problems of a draft as it stands, moving nothing: each meeting's `fixed_start` is where
    the draft has it, and a meeting without one has no time in the week.
    """
    result = Schedule()
    placed = [m for m in meetings if m.fixed_start is not None]
    _pin(placed, windows, result)
    result.unplaced = [m.key for m in meetings if m.fixed_start is None]
    _report_overlaps(placed, result)
    result.slots.sort(key=lambda s: (s.start, s.key))
    return result


def _later_ends(windows: Sequence[Window], latest_end: dt.time, step_minutes: int) -> list[dt.time]:
    """The ends to try, a step at a time from the earliest end of `windows` up to `latest_end` (included)."""
    if not windows:
        return []
    day = windows[0].day
    end, latest = _at(day, min(w.end for w in windows)), _at(day, latest_end)
    ends = []
    while end < latest:
        end = min(latest, end + dt.timedelta(minutes=step_minutes))
        ends.append(end.time())
    return ends


def fit(
    meetings: Sequence[Meeting],
    windows: Sequence[Window],
    spare: Sequence[Window] = (),
    *,
    break_minutes: int = 10,
    latest_end: dt.time = dt.time(14, 0),
    step_minutes: int = 15,
) -> Schedule:
    """
    Place `meetings`, changing the week as little as needed for every one to have a place.

    Try the mornings as planned; then each morning ending later, `step_minutes` at a time, up to
    `latest_end` (a morning already ending later keeps its end); then the first morning of `spare`
    added (in the order given), again from the planned ends up to `latest_end`; then the first two,
    and so on. The first week that places every meeting wins: the fewest mornings added, then the
    earliest end. When none does, return the week that places the most, with the fewest changes.
    """
    best = None
    for count in range(len(spare) + 1):
        week = [*windows, *spare[:count]]
        for end in [None, *_later_ends(week, latest_end, step_minutes)]:
            trial = [Window(w.day, w.start, max(w.end, end), w.room) if end else w for w in week]
            result = build(meetings, trial, break_minutes)
            planned, result.added = trial[: len(windows)], trial[len(windows) :]
            result.lengthened = [(new, old.end) for new, old in zip(planned, windows, strict=True) if new.end != old.end]
            if not result.unplaced:
                return result
            if best is None or len(result.unplaced) < len(best.unplaced):
                best = result
    return best


@dataclass(frozen=True)
class AgendaItem:
    kind: str  # opening, state, speaker, questions, closing
    start: dt.datetime
    end: dt.datetime
    speaker: int | None = None  # the position of the speaker, for "speaker" items


def agenda(
    start: dt.datetime,
    speakers: int,
    *,
    opening: int,
    state_statement: int,
    speaker_minutes: int,
    questions: int,
    closing: int,
    total: int | None = None,
) -> list[AgendaItem]:
    """
    The running order of one meeting. When the meeting is held to a minimum
    length (`total` longer than its parts), the questions get the extra time.
    """
    parts = [("opening", opening, None), ("state", state_statement, None)]
    parts += [("speaker", speaker_minutes, i) for i in range(1, speakers + 1)]
    fixed = opening + state_statement + speakers * speaker_minutes + closing
    parts += [("questions", max(questions, (total or 0) - fixed), None), ("closing", closing, None)]
    items, cursor = [], start
    for kind, minutes, position in parts:
        end = cursor + dt.timedelta(minutes=minutes)
        items.append(AgendaItem(kind, cursor, end, position))
        cursor = end
    return items
