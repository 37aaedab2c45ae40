from dataclasses import dataclass
from decimal import Decimal as D

import pytest

from applications import scoring
from applications.scoring import Facts, aggregate, assessment_total, check_marks, pre_assess


@dataclass
class C:
    key: str
    kind: str
    weight: D


RUBRIC = [C("national", "auto", D(3)), C("report", "auto", D(2)), C("coalition", "auto", D(1)), C("quality", "rating", D(4))]


def test_pre_assessment_of_a_national_coalition_with_a_report():
    facts = Facts(org_country="KE", review_country="KE", scope="national", is_coalition=True, report_submitted="joint")
    assert pre_assess(facts) == {"national": True, "report": True, "coalition": True}


def test_an_organisation_based_elsewhere_is_not_national_nor_a_national_coalition():
    facts = Facts(org_country="CH", review_country="KE", scope="national", is_coalition=True, report_submitted="none")
    assert pre_assess(facts) == {"national": False, "report": False, "coalition": False}


def test_an_international_organisation_in_the_country_is_not_national():
    facts = Facts(org_country="KE", review_country="KE", scope="international", is_coalition=False, report_submitted="alone")
    assert pre_assess(facts) == {"national": False, "report": True, "coalition": False}


@pytest.mark.parametrize(
    ("marks", "total"),
    [
        ({"national": True, "report": True, "coalition": True, "quality": 5}, D("10.00")),
        ({"national": True, "report": False, "coalition": False, "quality": 3}, D("5.40")),  # 3 + 4 * 3/5
        ({"national": False, "report": False, "coalition": False, "quality": 1}, D("0.80")),
        ({}, D("0.00")),
    ],
)
def test_assessment_total_is_the_weighted_sum(marks, total):
    assert assessment_total(marks, RUBRIC) == total


def test_weights_change_the_total():
    heavy_quality = [C("national", "auto", D(1)), C("quality", "rating", D(10))]
    assert assessment_total({"national": True, "quality": 4}, heavy_quality) == D("9.00")
    assert scoring.max_total(heavy_quality) == D("11.00")


def test_an_override_needs_a_reason():
    assessed = {"national": True, "report": True, "coalition": False}
    marks = {"national": True, "report": False, "coalition": False, "quality": 4}
    assert check_marks(marks, {}, RUBRIC, assessed) == {"report": "reason"}
    assert check_marks(marks, {"report": "  "}, RUBRIC, assessed) == {"report": "reason"}
    assert check_marks(marks, {"report": "Not found in the OHCHR compilation"}, RUBRIC, assessed) == {}


@pytest.mark.parametrize("rating", [None, 0, 6, "3", True, 2.5])
def test_a_rating_must_be_a_whole_number_from_1_to_5(rating):
    assessed = {"national": True, "report": True, "coalition": False}
    marks = {"national": True, "report": True, "coalition": False, "quality": rating}
    assert check_marks(marks, {}, RUBRIC, assessed) == {"quality": "rating"}


def test_aggregate_with_no_review():
    assert aggregate([]) == scoring.Aggregate(None, 0, None)


def test_aggregate_with_one_review():
    assert aggregate([D("7.40")]) == scoring.Aggregate(D("7.40"), 1, D("0.00"))


def test_aggregate_with_three_reviews():
    result = aggregate([D("9.00"), D("6.00"), D("3.00")])
    assert (result.mean, result.count, result.spread) == (D("6.00"), 3, D("2.45"))
