"""
Scoring applications against the 2012 selection criteria.

A call carries a rubric: weighted criteria of two kinds.

- "auto" criteria are yes/no facts that the application itself declares
  (a national organisation, a UPR report, a national coalition). They are
  pre-assessed from the application; an assessor confirms or overrides each
  one, and an override needs a reason ("declared a report, not found in the
  OHCHR compilation").
- "rating" criteria are the assessor's judgement on a scale of 1 to 5 (the
  relevance and quality of the proposed statement).

An assessment's total is the sum of weight x value, where a yes counts 1, a no 0,
and a rating r counts r / 5; the best possible total is the sum of the
weights. An application's score is the mean of its assessments' totals, shown
with the number of assessments and their spread (population standard
deviation), so coordinators can find the applications assessors disagree on.

Theme diversity and gender are panel-level criteria: they are applied when
panels are composed, not here.

This module has no Django model imports: criteria are anything with `key`,
`kind` and `weight`.
"""

from __future__ import annotations

import statistics
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from typing import Protocol

AUTO = "auto"
RATING = "rating"
RATING_MIN, RATING_MAX = 1, 5
NATIONAL, REPORT, COALITION, QUALITY = "national", "report", "coalition", "quality"

# (key, label, kind, weight) -- the defaults of a new call's rubric.
DEFAULT_RUBRIC = [
    (NATIONAL, "National organisation (based in the State under Review and working nationally)", AUTO, Decimal("3")),
    (REPORT, "Submitted a UPR stakeholder report for this review (alone or jointly)", AUTO, Decimal("2")),
    (COALITION, "National coalition", AUTO, Decimal("1")),
    (QUALITY, "Relevance and quality of the proposed statement (1 to 5)", RATING, Decimal("4")),
]
TWO_PLACES = Decimal("0.01")


class CriterionLike(Protocol):
    key: str
    kind: str
    weight: Decimal


@dataclass(frozen=True)
class Facts:
    """What the pre-assessment needs to know about an application."""

    org_country: str
    review_country: str
    scope: str
    is_coalition: bool
    report_submitted: str


def pre_assess(facts: Facts) -> dict[str, bool]:
    """Compute the auto criteria from what the applicant declared."""
    national = facts.scope == "national" and facts.org_country == facts.review_country
    return {
        NATIONAL: national,
        REPORT: facts.report_submitted in ("alone", "joint"),
        COALITION: facts.is_coalition and national,
    }


def criterion_value(kind: str, mark) -> Decimal:
    """The share of a criterion's weight that a mark earns, from 0 to 1."""
    if kind == AUTO:
        return Decimal(1) if mark else Decimal(0)
    if mark is None:
        return Decimal(0)
    return Decimal(int(mark)) / Decimal(RATING_MAX)


def assessment_total(marks: Mapping[str, object], criteria: Iterable[CriterionLike]) -> Decimal:
    """Weighted total of one assessment's marks, rounded to 2 decimal places."""
    total = sum((Decimal(c.weight) * criterion_value(c.kind, marks.get(c.key)) for c in criteria), Decimal(0))
    return total.quantize(TWO_PLACES, rounding=ROUND_HALF_UP)


def max_total(criteria: Iterable[CriterionLike]) -> Decimal:
    return sum((Decimal(c.weight) for c in criteria), Decimal(0)).quantize(TWO_PLACES)


def check_marks(
    marks: Mapping[str, object],
    reasons: Mapping[str, str],
    criteria: Iterable[CriterionLike],
    assessed: Mapping[str, bool],
) -> dict[str, str]:
    """
    Return {criterion key: problem} for marks that cannot be saved.

    Every rating needs a whole number from 1 to 5; an auto criterion marked
    differently from its pre-assessment needs a reason.
    """
    problems = {}
    for criterion in criteria:
        mark = marks.get(criterion.key)
        if criterion.kind == RATING:
            if not isinstance(mark, int) or isinstance(mark, bool) or not RATING_MIN <= mark <= RATING_MAX:
                problems[criterion.key] = "rating"
        elif (
            criterion.key in assessed and bool(mark) != assessed[criterion.key] and not (reasons.get(criterion.key) or "").strip()
        ):
            problems[criterion.key] = "reason"
    return problems


@dataclass(frozen=True)
class Aggregate:
    mean: Decimal | None
    count: int
    spread: Decimal | None


def aggregate(totals: Iterable[Decimal]) -> Aggregate:
    """Mean, count and spread of assessment totals; with no assessment, no mean and no spread."""
    values = [Decimal(t) for t in totals]
    if not values:
        return Aggregate(None, 0, None)
    mean = (sum(values, Decimal(0)) / len(values)).quantize(TWO_PLACES, rounding=ROUND_HALF_UP)
    spread = (
        Decimal(str(statistics.pstdev(values))).quantize(TWO_PLACES, rounding=ROUND_HALF_UP)
        if len(values) > 1
        else Decimal("0.00")
    )
    return Aggregate(mean, len(values), spread)
