"""
Calibrated scores: a strict reviewer's 6 and a generous reviewer's 9 may mean the same thing.

Each reviewer's totals in a session are standardised against that reviewer's own marks (a z-score:
how far above or below their own mean, in their own standard deviations), then mapped back onto
the rubric's scale with the mean and standard deviation of all the session's marks, and kept
within the scale. A reviewer who has marked fewer than `min_count` applications keeps their raw
marks: too few to know their habits. A reviewer's spread counts as at least half the session's
spread, so calibration never stretches a reviewer's differences more than twofold: a generous
reviewer who gives 10 seven times and 9.2 once has not said that the 9.2 is the worst application
of the session. A reviewer who gave every application the same mark says nothing about the order,
so their calibrated marks are all the session's mean.

An application's calibrated score is the mean of its calibrated marks. Reviews disagree strongly
when its highest and lowest raw marks are more than `disagreement` of the scale's width apart (a
quarter: 5 points on a scale of 20): such applications are flagged and may be given one more review.

This module has no Django imports.
"""

from __future__ import annotations

import statistics
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field

DEFAULT_MIN_COUNT = 8
DEFAULT_DISAGREEMENT = 0.25  # a quarter of the scale's width
MAX_STRETCH = 2.0  # a reviewer's spread counts as at least the session's spread / MAX_STRETCH


@dataclass(frozen=True)
class Mark:
    reviewer: int
    application: int
    total: float


@dataclass
class Calibration:
    scores: dict[int, float] = field(default_factory=dict)  # application -> calibrated mean
    raw: dict[int, float] = field(default_factory=dict)  # application -> raw mean
    marks: dict[tuple[int, int], float] = field(default_factory=dict)  # (reviewer, application) -> calibrated mark
    calibrated_reviewers: set[int] = field(default_factory=set)  # reviewers with enough marks
    disagreements: dict[int, float] = field(default_factory=dict)  # application -> highest minus lowest raw mark


def _stats(values: list[float]) -> tuple[float, float]:
    return statistics.fmean(values), statistics.pstdev(values) if len(values) > 1 else 0.0


def calibrate(
    marks: Iterable[Mark],
    *,
    low: float,
    high: float,
    min_count: int = DEFAULT_MIN_COUNT,
    disagreement: float = DEFAULT_DISAGREEMENT,
) -> Calibration:
    marks = list(marks)
    result = Calibration()
    if not marks:
        return result
    by_reviewer: dict[int, list[float]] = defaultdict(list)
    by_application: dict[int, list[Mark]] = defaultdict(list)
    for mark in marks:
        by_reviewer[mark.reviewer].append(mark.total)
        by_application[mark.application].append(mark)
    pooled_mean, pooled_sd = _stats([m.total for m in marks])
    habits = {}
    for reviewer, totals in by_reviewer.items():
        if len(totals) >= min_count:
            habits[reviewer] = _stats(totals)
    result.calibrated_reviewers = set(habits)

    def calibrated(mark: Mark) -> float:
        if mark.reviewer not in habits:
            return mark.total
        mean, sd = habits[mark.reviewer]
        sd = max(sd, pooled_sd / MAX_STRETCH) if sd else 0.0
        z = (mark.total - mean) / sd if sd else 0.0
        return min(max(pooled_mean + z * pooled_sd, low), high)

    width = high - low
    for application, its_marks in by_application.items():
        raw = [m.total for m in its_marks]
        result.raw[application] = statistics.fmean(raw)
        for mark in its_marks:
            result.marks[mark.reviewer, application] = calibrated(mark)
        result.scores[application] = statistics.fmean(result.marks[m.reviewer, application] for m in its_marks)
        spread = max(raw) - min(raw)
        if width > 0 and spread > disagreement * width:
            result.disagreements[application] = spread
    return result
