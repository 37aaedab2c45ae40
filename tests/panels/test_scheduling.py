import datetime as dt

from panels.scheduling import Meeting, Window, agenda, build, check, fit

D = dt.date(2027, 1, 12)  # a Tuesday
WEEK = [Window(D + dt.timedelta(days=i), dt.time(10), dt.time(13), "Room XXIV") for i in range(4)]
MONDAY = Window(D - dt.timedelta(days=1), dt.time(10), dt.time(13), "Room XXIV")


def t(day, hh, mm=0):
    return dt.datetime.combine(D + dt.timedelta(days=day), dt.time(hh, mm))


def test_meetings_fill_the_mornings_in_order_without_overlap():
    meetings = [Meeting(k, 50) for k in range(1, 8)]
    result = build(meetings, WEEK, break_minutes=10)
    assert result.ok
    assert [(s.key, s.start, s.end) for s in result.slots[:4]] == [
        (1, t(0, 10), t(0, 10, 50)),
        (2, t(0, 11), t(0, 11, 50)),
        (3, t(0, 12), t(0, 12, 50)),
        (4, t(1, 10), t(1, 10, 50)),
    ]
    for a, b in zip(result.slots, result.slots[1:], strict=False):
        assert a.end <= b.start
    assert all(s.end.time() <= dt.time(13) and s.start.time() >= dt.time(10) for s in result.slots)


def test_a_week_that_is_too_full_says_which_meetings_did_not_fit():
    result = build([Meeting(k, 50) for k in range(1, 15)], WEEK, break_minutes=10)
    assert result.unplaced == [13, 14]  # 3 a morning x 4 mornings = 12
    assert not result.ok


def test_a_meeting_moved_by_hand_keeps_its_place_and_others_flow_around_it():
    meetings = [Meeting(1, 50), Meeting(2, 50, fixed_start=t(0, 11)), Meeting(3, 50)]
    result = build(meetings, WEEK, break_minutes=10)
    assert [(s.key, s.start) for s in result.slots] == [(1, t(0, 10)), (2, t(0, 11)), (3, t(0, 12))]
    assert result.conflicts == []


def test_a_hand_placed_overlap_or_overrun_is_reported():
    overlap = build([Meeting(1, 50), Meeting(2, 50, fixed_start=t(0, 10, 30))], WEEK)
    assert (2, "overlap:1") not in overlap.conflicts  # the flowing meeting moved out of the way
    assert overlap.ok
    clash = build([Meeting(1, 50, fixed_start=t(0, 10)), Meeting(2, 50, fixed_start=t(0, 10, 30))], WEEK)
    assert (1, "overlap:2") in clash.conflicts and (2, "overlap:1") in clash.conflicts
    late = build([Meeting(1, 50, fixed_start=t(0, 12, 30))], WEEK)
    assert late.conflicts == [(1, "outside-window")]


def test_fit_changes_nothing_when_the_planned_mornings_hold_every_meeting():
    meetings = [Meeting(k, 50) for k in range(1, 13)]
    result = fit(meetings, WEEK, [MONDAY], break_minutes=10)
    assert result.unplaced == []
    assert (result.added, result.lengthened) == ([], [])
    assert result.slots == build(meetings, WEEK, break_minutes=10).slots


def test_fit_lets_the_mornings_end_later_before_adding_one():
    # 13 meetings of 50 minutes: three a morning until 13:00 (one left out), four once the mornings end at 14:00.
    result = fit([Meeting(k, 50) for k in range(1, 14)], WEEK, [MONDAY], break_minutes=10, latest_end=dt.time(14))
    assert result.unplaced == []
    assert result.added == []
    assert [(w.day, w.end, before) for w, before in result.lengthened] == [(w.day, dt.time(14), dt.time(13)) for w in WEEK]
    assert [(s.key, s.end) for s in result.slots[3:5]] == [(4, t(0, 13, 50)), (5, t(1, 10, 50))]


def test_fit_adds_the_monday_when_longer_mornings_are_not_enough():
    result = fit([Meeting(k, 50) for k in range(1, 18)], WEEK, [MONDAY], break_minutes=10, latest_end=dt.time(14))
    assert result.unplaced == []
    assert result.added == [Window(MONDAY.day, dt.time(10), dt.time(14), "Room XXIV")]
    assert result.slots[0].start == dt.datetime.combine(MONDAY.day, dt.time(10))


def test_fit_never_runs_past_the_latest_end_and_says_what_still_does_not_fit():
    result = fit([Meeting(k, 50) for k in range(1, 31)], WEEK, [MONDAY], break_minutes=10, latest_end=dt.time(13, 30))
    assert result.unplaced == list(range(16, 31))  # 3 a morning x 5 mornings
    assert all(s.end.time() <= dt.time(13, 30) for s in result.slots)


def test_check_reports_a_draft_as_it_stands_without_moving_anything():
    meetings = [Meeting(1, 50, fixed_start=t(0, 10)), Meeting(2, 50, fixed_start=t(0, 10, 30)), Meeting(3, 50)]
    meetings.append(Meeting(4, 50, fixed_start=t(1, 12, 30)))
    result = check(meetings, WEEK)
    assert [(s.key, s.start) for s in result.slots] == [(1, t(0, 10)), (2, t(0, 10, 30)), (4, t(1, 12, 30))]
    assert result.unplaced == [3]
    assert result.conflicts == [(4, "outside-window"), (1, "overlap:2"), (2, "overlap:1")]


def test_agenda_times_add_up():
    items = agenda(t(0, 10), 4, opening=5, state_statement=2, speaker_minutes=5, questions=15, closing=3)
    assert [i.kind for i in items] == ["opening", "state", "speaker", "speaker", "speaker", "speaker", "questions", "closing"]
    assert items[0].start == t(0, 10) and items[-1].end == t(0, 10, 45)
    assert all(a.end == b.start for a, b in zip(items, items[1:], strict=False))
    assert [i.speaker for i in items if i.kind == "speaker"] == [1, 2, 3, 4]


def test_a_short_meeting_gives_the_extra_minutes_to_questions():
    items = agenda(t(0, 10), 1, opening=5, state_statement=2, speaker_minutes=5, questions=10, closing=3, total=30)
    assert items[-1].end == t(0, 10, 30)
    assert [i for i in items if i.kind == "questions"][0].end - [i for i in items if i.kind == "questions"][
        0
    ].start == dt.timedelta(minutes=15)


def test_diff_between_two_releases():
    from panels.publishing import diff

    def payload(start, room, speakers):
        return {
            "days": [{"date": "2027-01-12", "meetings": [{"iso2": "KE", "start": start, "room": room, "speakers": speakers}]}]
        }

    one = [{"member": 1, "organisation": "A", "kind": "cso", "scope": "national"}]
    two = [{"member": 2, "organisation": None, "kind": "cso", "scope": "national"}]
    old = payload("2027-01-12T10:00", "XX", one)
    assert diff(None, old) == []
    assert diff(old, old) == []
    assert diff(old, payload("2027-01-12T11:00", "XVII", two)) == [
        {"iso2": "KE", "what": "time", "before": "2027-01-12T10:00", "after": "2027-01-12T11:00"},
        {"iso2": "KE", "what": "room", "before": "XX", "after": "XVII"},
        # Counts only: a change record must not keep naming someone who left.
        {"iso2": "KE", "what": "speakers", "before": 1, "after": 1},
    ]
    assert diff(old, {"days": []}) == [{"iso2": "KE", "what": "removed", "before": "2027-01-12T10:00", "after": None}]
