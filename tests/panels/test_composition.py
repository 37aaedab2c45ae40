"""The panel optimiser against a brute-force optimum, and its hard constraints."""

import itertools
import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from panels.composition import Candidate, compose, objective_value
from tests.profiles import examples

GENDERS = ["woman", "man", "non_binary", "undisclosed"]


def brute_force(candidates, slots, *, theme_weight, locked=(), excluded=(), require_nhri_or_coalition=True):
    """Enumerate every admissible panel: the best parity first, then the best objective."""
    pool = [c for c in candidates if c.id not in set(excluded)]
    target = max(min(slots, len({c.organisation_id for c in pool})), len(set(locked)))
    admissible = [
        panel
        for panel in itertools.combinations(pool, target)
        if len({c.organisation_id for c in panel}) == target and set(locked) <= {c.id for c in panel}
    ]
    strong = [panel for panel in admissible if any(c.is_nhri or c.is_national_coalition for c in panel)]
    if require_nhri_or_coalition and strong:  # the preference yields to locks that rule it out
        admissible = strong
    best = None
    for panel in admissible:
        w = sum(c.gender == "woman" for c in panel)
        m = sum(c.gender == "man" for c in panel)
        key = (-max(0, abs(w - m) - 1), objective_value(panel, theme_weight))
        if best is None or key > best:
            best = key
    return best


def check_hard_constraints(result, candidates, slots, locked=(), excluded=()):
    by_id = {c.id: c for c in candidates}
    panel = [by_id[i] for i in result.panel]
    assert len(panel) <= max(slots, len(locked))
    assert len({c.organisation_id for c in panel}) == len(panel)
    assert set(locked) <= set(result.panel)
    assert not set(excluded) & set(result.panel)
    assert not set(result.panel) & set(result.reserve)


candidate_lists = st.lists(
    st.tuples(
        st.integers(0, 8),  # organisation
        st.decimals(min_value=0, max_value=10, places=2),
        st.frozensets(st.integers(0, 9), min_size=1, max_size=3),
        st.sampled_from(GENDERS),
        st.booleans(),
        st.booleans(),
    ),
    min_size=1,
    max_size=12,
)


@settings(max_examples=examples(200), deadline=None)
@given(
    raw=candidate_lists,
    slots=st.integers(1, 6),
    theme_weight=st.sampled_from([0.0, 0.5, 1.0, 3.0]),
    require=st.booleans(),
    data=st.data(),
)
def test_the_solver_matches_a_brute_force_optimum(raw, slots, theme_weight, require, data):
    candidates = [
        Candidate(
            id=i + 1,
            organisation_id=org,
            score=float(score),
            themes=themes,
            gender=gender,
            is_nhri=nhri and i % 4 == 0,
            is_national_coalition=coalition and i % 3 == 0,
        )
        for i, (org, score, themes, gender, nhri, coalition) in enumerate(raw)
    ]
    ids = [c.id for c in candidates]
    excluded = data.draw(st.lists(st.sampled_from(ids), max_size=2, unique=True))
    allowed = [c for c in candidates if c.id not in excluded]
    lockable = list({c.organisation_id: c.id for c in allowed}.values())  # one per organisation, or the lock is infeasible
    locked = data.draw(st.lists(st.sampled_from(lockable), max_size=min(2, slots), unique=True)) if lockable else []
    result = compose(
        candidates, slots, theme_weight=theme_weight, locked=locked, excluded=excluded, require_nhri_or_coalition=require
    )
    expected = brute_force(
        candidates, slots, theme_weight=theme_weight, locked=locked, excluded=excluded, require_nhri_or_coalition=require
    )
    assert result.feasible
    check_hard_constraints(result, candidates, slots, locked, excluded)
    got = (-max(0, result.gap - 1), result.objective)
    assert got[0] == expected[0]
    assert got[1] == pytest.approx(expected[1], abs=0.005)


def make(i, org=None, score=5.0, themes=(1,), gender="woman", **kw):
    return Candidate(id=i, organisation_id=org or i, score=score, themes=frozenset(themes), gender=gender, **kw)


def test_parity_holds_when_the_pool_allows_it():
    pool = [
        make(1, score=9, gender="man"),
        make(2, score=8.9, gender="man"),
        make(3, score=8.8, gender="man"),
        make(4, score=2, gender="woman"),
        make(5, score=1, gender="woman"),
    ]
    result = compose(pool, 4, require_nhri_or_coalition=False)
    assert (result.women, result.men, result.parity_ok) == (2, 2, True)
    assert result.panel == [1, 2, 4, 5]


def test_a_parity_infeasible_pool_gets_the_best_gap_and_is_flagged():
    pool = [make(i, score=10 - i, gender="man") for i in range(1, 6)] + [make(6, score=1, gender="woman")]
    result = compose(pool, 5, require_nhri_or_coalition=False)
    assert (result.women, result.men) == (1, 4)
    assert result.parity_ok is False
    assert 6 in result.panel


def test_one_speaker_per_organisation():
    pool = [make(1, org=7, score=9), make(2, org=7, score=8), make(3, score=1)]
    result = compose(pool, 3, require_nhri_or_coalition=False)
    assert sorted(result.panel) == [1, 3]
    assert result.reserve == []  # the other speaker of organisation 7 cannot replace anyone without a second slot for 7


def test_themes_count_so_a_diverse_panel_beats_a_repetitive_one():
    pool = [make(1, score=5, themes=(1,)), make(2, score=5, themes=(1,)), make(3, score=4.5, themes=(2,))]
    result = compose(pool, 2, theme_weight=1.0, require_nhri_or_coalition=False)
    assert result.panel == [1, 3]
    assert result.picks[3].new_themes == (2,)


def test_an_nhri_or_national_coalition_is_included_when_there_is_one():
    pool = [make(i, score=9, gender=["woman", "man"][i % 2]) for i in range(1, 6)] + [make(9, score=0.5, is_nhri=True)]
    assert 9 in compose(pool, 4, require_nhri_or_coalition=True).panel
    assert 9 not in compose(pool, 4, require_nhri_or_coalition=False).panel


def test_locks_and_exclusions_hold():
    pool = [make(i, score=10 - i, gender=["woman", "man"][i % 2]) for i in range(1, 9)]
    base = compose(pool, 4, require_nhri_or_coalition=False)
    result = compose(pool, 4, locked=[8], excluded=[base.panel[0]], require_nhri_or_coalition=False)
    assert 8 in result.panel
    assert base.panel[0] not in result.panel + result.reserve
    assert result.panel != base.panel


def test_the_same_input_gives_the_same_panel():
    rng = random.Random(7)
    pool = [
        make(i, score=round(rng.uniform(0, 10), 1), themes=rng.sample(range(20), 2), gender=rng.choice(GENDERS))
        for i in range(1, 60)
    ]
    assert compose(pool, 5).panel == compose(list(reversed(pool)), 5).panel


def test_equal_candidates_are_broken_by_rank():
    pool = [make(i, score=5, themes=(1,), gender="non_binary") for i in range(1, 6)]
    assert compose(pool, 2, require_nhri_or_coalition=False).panel == [1, 2]


def test_the_reserve_list_is_ranked_and_excludes_panel_organisations():
    pool = [
        make(1, score=9),
        make(2, org=1, score=8),
        make(3, score=7, gender="man"),
        make(4, score=6, gender="man"),
        make(5, score=5),
    ]
    result = compose(pool, 2, require_nhri_or_coalition=False)
    assert result.panel == [1, 3]
    assert result.reserve == [4, 5]


def test_an_empty_pool():
    result = compose([], 5)
    assert (result.panel, result.reserve, result.feasible) == ([], [], True)
