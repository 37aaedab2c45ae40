"""
The engagement timeline of one UPR Working Group session.

Given only the date on which the Working Group starts, compute every date an
applicant or a staff member plans around: the OHCHR stakeholder deadline, the
call for applications, the selection results and the Pre-session week. Each
date can be overridden by staff; a date derived from an overridden one
follows the override (move the Pre-session week and the call moves with it),
unless it is overridden itself.

The rules come from UPR Info's own description of the process and from past
series (see DOMAIN.md in the project's history):

- The Pre-sessions take place about one month before the Working Group, over
  four mornings from Tuesday to Friday: the Tuesday five weeks before the
  Monday of the Working Group's first week. Series 25 (29 March 2016), 29
  (12 December 2017) and 33 (2 April 2019) started on exactly that Tuesday.
- The Palais des Nations is busy at two times of the year, so the week moves
  back, a week at a time, until it is clear of both:
  - the year-end break, 20 December to 4 January (series 29 and 32 were held
    in mid-December for January Working Groups);
  - the main session of the Human Rights Council, from late February to early
    April, and the week before it opens. Series 46 was held on 13-16 February
    2024, two weeks before HRC55 (26 February - 5 April 2024), for a Working
    Group that started on 29 April. The Council's dates change every year, so
    they are data (presessions.models.CouncilSession), passed in as
    `council_sessions`; a year with no Council session on record moves nothing.
  Moving back rather than forward keeps the Pre-sessions at least five weeks
  before the Working Group's week, as in every in-person series on record;
  the first week after an early-April Council session would leave three weeks
  or less. A shorter Council session can end before the computed week, which
  then stays where it is: series 25 and 33 came within two weeks of the close
  of HRC31 (24 March 2016) and HRC40 (22 March 2019).
- The call opens three months before the Pre-sessions and stays open for
  three weeks (series 46: 17 November to 6 December 2023, for 13 February).
- Selected speakers are contacted two to three weeks after the call closes.
- Stakeholder reports are due at OHCHR about seven months before the review.

tests/presessions/test_timeline.py checks these rules against every past
series on record (presessions/data/geneva-calendar.json) and names each one
that differs, with the reason.

This module has no Django imports, so the rules can be tested in isolation.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass, fields

from dateutil.relativedelta import relativedelta

PRESESSIONS_WEEKS_BEFORE = 5
CALL_OPENS_BEFORE = relativedelta(months=3)
CALL_LENGTH = dt.timedelta(weeks=3)
RESULTS_FROM_AFTER_CLOSE = dt.timedelta(weeks=2)
RESULTS_BY_AFTER_CLOSE = dt.timedelta(weeks=3)
STAKEHOLDER_DEADLINE_BEFORE = relativedelta(months=7)

# Geneva is largely closed between Christmas and the first days of January.
# Past series for January Working Groups were held in early or mid December
# (12-15 Dec 2017, 11-14 Dec 2018), so a Pre-session week that would touch this
# break is moved back a week at a time until it is clear of it.
YEAR_END_BREAK = ((12, 20), (1, 4))
# The week before the Council opens is kept clear as well: series 46 was held
# two weeks before HRC55 opened, not one (probably because the missions are
# busy preparing the session then).
COUNCIL_LEAD_TIME = dt.timedelta(weeks=1)

Period = tuple[dt.date, dt.date]

TUESDAY, FRIDAY, SATURDAY = 1, 4, 5


@dataclass(frozen=True)
class Timeline:
    """Key dates of one session's engagement timeline, in date order."""

    stakeholder_deadline: dt.date
    call_opens: dt.date
    call_closes: dt.date
    results_from: dt.date
    results_by: dt.date
    presessions_start: dt.date
    presessions_end: dt.date
    working_group_start: dt.date

    def problems(self) -> list[str]:
        """Name each pair of dates that is out of order, e.g. after an override."""
        names = [f.name for f in fields(self)]
        values = [getattr(self, n) for n in names]
        return [f"{a} is after {b}" for a, b, x, y in zip(names, names[1:], values, values[1:], strict=False) if x > y]


def _in_year_end_break(day: dt.date) -> bool:
    (start_month, start_day), (end_month, end_day) = YEAR_END_BREAK
    return (day.month, day.day) >= (start_month, start_day) or (day.month, day.day) <= (end_month, end_day)


def _blocked(tuesday: dt.date, friday: dt.date, council_sessions: Iterable[Period]) -> bool:
    """Whether the week touches the year-end break, a Council session or the week before one."""
    if _in_year_end_break(tuesday) or _in_year_end_break(friday):
        return True
    return any(tuesday <= end and friday >= start - COUNCIL_LEAD_TIME for start, end in council_sessions)


def presession_week(working_group_start: dt.date, council_sessions: Iterable[Period] = ()) -> Period:
    """
    Return the Tuesday and the Friday of the Pre-session week.

    Count five weeks back from the Monday of the week in which the Working
    Group starts (a Working Group that starts mid-week keeps the same
    Pre-session week as one that starts on that week's Monday), then step back
    a week at a time while the week touches the year-end break, one of
    `council_sessions` (first and last days of the Human Rights Council's main
    sessions) or the week before one of them.
    """
    council_sessions = list(council_sessions)
    monday = working_group_start - dt.timedelta(days=working_group_start.weekday())
    tuesday = monday - dt.timedelta(weeks=PRESESSIONS_WEEKS_BEFORE) + dt.timedelta(days=TUESDAY)
    while _blocked(tuesday, tuesday + dt.timedelta(days=FRIDAY - TUESDAY), council_sessions):
        tuesday -= dt.timedelta(weeks=1)
    return tuesday, tuesday + dt.timedelta(days=FRIDAY - TUESDAY)


def _next_weekday(day: dt.date) -> dt.date:
    """Move a date that falls on a weekend to the following Monday."""
    while day.weekday() >= SATURDAY:
        day += dt.timedelta(days=1)
    return day


def compute_timeline(
    working_group_start: dt.date, *, council_sessions: Iterable[Period] = (), **overrides: dt.date | None
) -> Timeline:
    """
    Compute the timeline for a Working Group starting on `working_group_start`.

    `council_sessions` are the first and last days of the Human Rights
    Council's main sessions, which the Pre-session week keeps clear of.
    Keyword arguments named after Timeline fields override the computed dates;
    None means "not overridden". Dates are computed in dependency order, so a
    later rule always starts from the earlier date as overridden.
    """
    unknown = set(overrides) - {f.name for f in fields(Timeline)}
    if unknown:
        raise TypeError(f"unknown timeline dates: {', '.join(sorted(unknown))}")

    def pick(name: str, computed: dt.date) -> dt.date:
        value = overrides.get(name)
        return computed if value is None else value

    wg_start = pick("working_group_start", working_group_start)
    computed_start, computed_end = presession_week(wg_start, council_sessions)
    ps_start = pick("presessions_start", computed_start)
    # An overridden start moves the default end with it (Tuesday -> Friday).
    ps_end = pick("presessions_end", computed_end if ps_start == computed_start else ps_start + dt.timedelta(days=3))
    call_opens = pick("call_opens", _next_weekday(ps_start - CALL_OPENS_BEFORE))
    call_closes = pick("call_closes", call_opens + CALL_LENGTH)
    return Timeline(
        stakeholder_deadline=pick("stakeholder_deadline", wg_start - STAKEHOLDER_DEADLINE_BEFORE),
        call_opens=call_opens,
        call_closes=call_closes,
        results_from=pick("results_from", call_closes + RESULTS_FROM_AFTER_CLOSE),
        results_by=pick("results_by", call_closes + RESULTS_BY_AFTER_CLOSE),
        presessions_start=ps_start,
        presessions_end=ps_end,
        working_group_start=wg_start,
    )
