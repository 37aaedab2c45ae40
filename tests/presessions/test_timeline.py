import datetime as dt

import pytest

from presessions.timeline import compute_timeline, presession_week

D = dt.date


def test_presession_week_is_tuesday_to_friday_four_weeks_before_a_monday_start():
    # WG 46 started on Monday 29 April 2024.
    assert presession_week(D(2024, 4, 29)) == (D(2024, 4, 2), D(2024, 4, 5))


def test_presession_week_for_a_mid_week_start_uses_the_monday_of_that_week():
    assert presession_week(D(2024, 5, 1)) == presession_week(D(2024, 4, 29))


def test_presession_week_for_a_sunday_start_belongs_to_the_week_it_ends():
    # A Sunday is the last day of its ISO week, so its Monday is 6 days earlier.
    assert presession_week(D(2024, 5, 5)) == (D(2024, 4, 2), D(2024, 4, 5))


def test_presession_week_avoids_the_year_end_break():
    # WG 51 started on Monday 19 January 2026: 4 weeks earlier is 23-26 Dec 2025.
    start, end = presession_week(D(2026, 1, 19))
    assert (start, end) == (D(2025, 12, 16), D(2025, 12, 19))
    assert start.weekday() == 1 and end.weekday() == 4


def test_presession_week_that_would_straddle_new_year_moves_to_december():
    # WG on Monday 26 January 2026 -> 30 Dec-2 Jan is in the break; 2 Feb -> 6-9 Jan is clear of it.
    assert presession_week(D(2026, 1, 26)) == (D(2025, 12, 16), D(2025, 12, 19))
    assert presession_week(D(2026, 2, 2)) == (D(2026, 1, 6), D(2026, 1, 9))


def test_timeline_dates_follow_the_rules_and_are_in_order():
    timeline = compute_timeline(D(2024, 4, 29))
    assert timeline.presessions_start == D(2024, 4, 2)
    assert timeline.call_opens == D(2023, 12, 19)  # 3 months and 2 weeks earlier
    assert timeline.call_closes == D(2024, 1, 9)
    assert timeline.results_from == D(2024, 1, 23)
    assert timeline.results_by == D(2024, 1, 30)
    assert timeline.stakeholder_deadline == D(2023, 9, 29)
    assert timeline.problems() == []


def test_call_opening_on_a_weekend_moves_to_monday():
    # Pre-sessions overridden to start on Sunday 2 Feb 2025: 3 months and 2 weeks earlier is Sat 19 Oct 2024.
    timeline = compute_timeline(D(2025, 4, 28), presessions_start=D(2025, 2, 2))
    assert timeline.call_opens == D(2024, 10, 21)
    assert timeline.call_opens.weekday() == 0


def test_call_opens_between_three_and_four_months_before_the_presessions():
    for offset in range(0, 365, 7):
        wg_start = D(2026, 1, 5) + dt.timedelta(days=offset)
        timeline = compute_timeline(wg_start)
        gap = (timeline.presessions_start - timeline.call_opens).days
        assert 3 * 30 <= gap <= 4 * 31, wg_start
        assert (timeline.call_closes - timeline.call_opens).days == 21
        assert (
            14 <= (timeline.results_from - timeline.call_closes).days <= (timeline.results_by - timeline.call_closes).days <= 21
        )
        assert 21 <= (wg_start - timeline.presessions_start).days <= 45, wg_start
        assert timeline.problems() == [], wg_start


def test_session_spanning_the_new_year_computes_dates_in_the_previous_year():
    timeline = compute_timeline(D(2027, 1, 18))
    assert timeline.presessions_start.year == 2026
    assert timeline.call_opens == D(2026, 9, 1)
    assert timeline.stakeholder_deadline == D(2026, 6, 18)


def test_overriding_the_presession_week_moves_the_call_with_it():
    computed = compute_timeline(D(2024, 4, 29))
    moved = compute_timeline(D(2024, 4, 29), presessions_start=D(2024, 2, 13))
    assert moved.presessions_start == D(2024, 2, 13)
    assert moved.presessions_end == D(2024, 2, 16)
    assert moved.call_opens < computed.call_opens
    assert moved.working_group_start == computed.working_group_start


def test_overridden_call_dates_drive_the_results_window():
    timeline = compute_timeline(D(2024, 4, 29), call_opens=D(2023, 11, 17), call_closes=D(2023, 12, 6))
    assert (timeline.call_opens, timeline.call_closes) == (D(2023, 11, 17), D(2023, 12, 6))
    assert (timeline.results_from, timeline.results_by) == (D(2023, 12, 20), D(2023, 12, 27))


def test_none_overrides_are_ignored():
    assert compute_timeline(D(2024, 4, 29), call_opens=None) == compute_timeline(D(2024, 4, 29))


def test_unknown_override_is_an_error():
    with pytest.raises(TypeError, match="call_open"):
        compute_timeline(D(2024, 4, 29), call_open=D(2024, 1, 1))


def test_problems_name_dates_out_of_order():
    timeline = compute_timeline(D(2024, 4, 29), call_closes=D(2024, 6, 1))
    assert "call_closes is after results_from" not in timeline.problems()  # results follow the override
    assert "results_by is after presessions_start" in timeline.problems()
