"""
Issue 19, calibration (applications/calibration.py, no Django): a strict and a generous reviewer
who rank the same applications alike get calibrated scores that agree where raw ones do not.
"""

import random

import pytest

from applications.calibration import Mark, calibrate


def test_a_strict_and_a_generous_reviewer_agree_once_calibrated():
    rng = random.Random(12)
    quality = {app: rng.uniform(0, 10) for app in range(1, 13)}  # what each application deserves, on a 0-10 scale
    strict = [Mark(1, app, 0.5 * q + 1) for app, q in quality.items()]  # marks 1 to 6
    generous = [Mark(2, app, 0.5 * q + 4.5) for app, q in quality.items()]  # marks 4.5 to 9.5
    result = calibrate(strict + generous, low=0, high=10)
    assert result.calibrated_reviewers == {1, 2}
    # Raw: the two marks of each application are 3.5 apart. Calibrated: the same.
    for app in quality:
        assert abs(strict[app - 1].total - generous[app - 1].total) == pytest.approx(3.5)
    # One reviewer each for two halves of the applications: raw scores are unfair, calibrated ones are not.
    split = [m for m in strict if m.application <= 6] + [m for m in generous if m.application > 6]
    split += [Mark(1, 100 + n, 0.5 * rng.uniform(0, 10) + 1) for n in range(8)]  # enough marks to know each reviewer
    split += [Mark(2, 200 + n, 0.5 * rng.uniform(0, 10) + 4.5) for n in range(8)]
    both = calibrate(split, low=0, high=10)
    raw_order = sorted(quality, key=lambda a: both.raw[a])
    calibrated_order = sorted(quality, key=lambda a: both.scores[a])
    true_order = sorted(quality, key=quality.get)
    assert raw_order != true_order  # the generous reviewer's half floats to the top
    misplaced = sum(1 for a, b in zip(calibrated_order, true_order, strict=True) if a != b)
    assert misplaced <= 4, (calibrated_order, true_order)


def test_identical_habits_give_identical_calibrated_marks():
    marks = []
    for app in range(1, 11):
        marks += [Mark(1, app, app * 0.4 + 1), Mark(2, app, app * 0.4 + 5)]
    result = calibrate(marks, low=0, high=10)
    for app in range(1, 11):
        assert result.raw[app] == pytest.approx(app * 0.4 + 3)
        assert result.marks[1, app] != marks[2 * app - 2].total  # calibration changed the strict mark...
        assert result.marks[1, app] == pytest.approx(result.marks[2, app])  # ...into the generous one's
    assert sorted(result.scores, key=result.scores.get) == list(range(1, 11))


def test_a_reviewer_with_few_marks_keeps_raw_ones_and_marks_stay_on_the_scale():
    marks = [Mark(1, a, 9.9 if a == 1 else 2.0) for a in range(1, 9)] + [Mark(2, 1, 7.0), Mark(2, 2, 3.0)]
    result = calibrate(marks, low=0, high=10, min_count=8)
    assert result.calibrated_reviewers == {1}
    assert all(0 <= score <= 10 for score in result.scores.values())
    flat = calibrate([Mark(3, a, 5.0) for a in range(1, 9)], low=0, high=10)
    assert set(flat.scores.values()) == {5.0}  # no order to learn from


def test_strong_disagreement_is_flagged():
    marks = [Mark(1, 1, 9.0), Mark(2, 1, 1.0), Mark(1, 2, 6.0), Mark(2, 2, 5.0)]
    result = calibrate(marks, low=0, high=10)
    assert set(result.disagreements) == {1} and result.disagreements[1] == pytest.approx(8.0)  # highest minus lowest
