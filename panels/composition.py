"""
Compose a fair panel for one State under Review.

Solver: OR-Tools CP-SAT. A panel is a small 0/1 selection problem with
exact side constraints (slots, one speaker per organisation, gender
parity, an NHRI or national coalition, staff locks and exclusions) and an
objective that rewards both the assessors' scores and the number of distinct
themes covered. Theme coverage is a "maximum coverage" term, which a greedy
ranking cannot get right and which needs integer variables; CP-SAT solves
such models exactly, in milliseconds at this size, and is deterministic with
a single worker and a fixed seed. HiGHS (through scipy) would also be exact,
but its MILP needs the lexicographic parity rule below written as a second
solve, and its results are less easy to make bit-for-bit repeatable.

The rule, in order of priority:

1. Hard: at most `slots` speakers, and as many as the pool allows; at most
   one speaker per organisation; locked candidates in, excluded ones out;
   optionally at least one NHRI or national coalition, when one is
   available.
2. Gender parity: |women - men| <= 1 when the pool allows it; otherwise the
   smallest gap achievable, and the panel is flagged. Speakers who are
   non-binary or did not say count on neither side.
3. Maximise the sum of the selected scores plus `theme_weight` for every
   distinct theme covered.
4. Ties go to the candidates ranked first (higher score, then lower id), so
   the same input always gives the same panel.

The priorities are folded into one integer objective with weights large
enough that a lower level can never outweigh a higher one.

This module has no Django imports.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

WOMAN, MAN = "woman", "man"
SCALE = 100  # scores and theme weights are kept to 2 decimal places


@dataclass(frozen=True)
class Candidate:
    id: int
    organisation_id: int
    score: float
    themes: frozenset[int]
    gender: str
    is_nhri: bool = False
    is_national_coalition: bool = False
    criteria: tuple[str, ...] = ()  # e.g. ("national", "report"), for explanations


@dataclass
class Pick:
    candidate_id: int
    criteria: tuple[str, ...]
    new_themes: tuple[int, ...]
    parity: str


@dataclass
class Result:
    panel: list[int]
    reserve: list[int]
    objective: float
    themes_covered: frozenset[int]
    women: int
    men: int
    parity_ok: bool
    nhri_or_coalition_ok: bool
    picks: dict[int, Pick] = field(default_factory=dict)
    feasible: bool = True

    @property
    def gap(self) -> int:
        return abs(self.women - self.men)


def ranked(candidates: Iterable[Candidate]) -> list[Candidate]:
    """The stable order used for tie-breaks and for the reserve list: best score first, then lowest id."""
    return sorted(candidates, key=lambda c: (-c.score, c.id))


def objective_value(panel: Sequence[Candidate], theme_weight: float) -> float:
    """The objective of a panel, in the units of the scores."""
    themes = frozenset().union(*(c.themes for c in panel)) if panel else frozenset()
    return round(sum(c.score for c in panel) + theme_weight * len(themes), 2)


def compose(
    candidates: Sequence[Candidate],
    slots: int,
    *,
    theme_weight: float = 1.0,
    locked: Iterable[int] = (),
    excluded: Iterable[int] = (),
    require_nhri_or_coalition: bool = True,
    time_limit: float = 10.0,
) -> Result:
    """
    Return the best panel for `candidates` under the rule above, with a ranked reserve list.

    Three small exact solves keep this fast on pools of hundreds:

    1. the smallest parity excess any admissible panel can reach;
    2. the best panel among a short list (the best-ranked candidates, the best of
       each gender and the best NHRIs and coalitions), which is a feasible panel and
       so a lower bound L on the optimum;
    3. the best panel among the candidates that could still reach L: a candidate
       whose own value plus the best values of the others stays below L cannot be
       in an optimal panel, so dropping it changes nothing.
    """
    locked, excluded = set(locked), set(excluded)
    pool = ranked(c for c in candidates if c.id not in excluded)
    locked &= {c.id for c in pool}
    organisations = {c.organisation_id for c in pool}
    target = max(min(slots, len(organisations)), len(locked))
    needs_strong = require_nhri_or_coalition and any(c.is_nhri or c.is_national_coalition for c in pool)
    if target == 0:
        return Result([], [c.id for c in pool], 0.0, frozenset(), 0, 0, True, not needs_strong)
    weight = round(theme_weight * SCALE)

    max_excess = _min_parity_excess(pool, target, locked, needs_strong)
    if max_excess is None and needs_strong:
        # Staff locks win over the preference for an NHRI or coalition (e.g. a locked speaker of the same organisation).
        needs_strong = False
        max_excess = _min_parity_excess(pool, target, locked, needs_strong)
    if max_excess is None:
        return Result([], [c.id for c in pool], 0.0, frozenset(), 0, 0, False, False, feasible=False)

    shortlist = _shortlist(pool, locked, target)
    first = _solve(shortlist, target, weight, locked, needs_strong, max_excess, None, time_limit)
    if first is None:
        kept, bound = pool, None
    else:
        bound = _scaled_objective(first, weight)
        kept = _could_reach(pool, locked, target, weight, bound)
    chosen = _solve(kept, target, weight, locked, needs_strong, max_excess, bound, time_limit)
    if chosen is None:  # only when the shortlist bound could not be met, which the pruning rules out
        chosen = _solve(pool, target, weight, locked, needs_strong, max_excess, None, time_limit)
    if chosen is None:
        return Result([], [c.id for c in pool], 0.0, frozenset(), 0, 0, False, False, feasible=False)
    return _explain(
        chosen, pool, theme_weight, require_nhri_or_coalition and any(c.is_nhri or c.is_national_coalition for c in pool)
    )


def _value(c: Candidate, weight: int) -> int:
    """The most a candidate can add to a panel: its score and all its themes, in scaled units."""
    return round(c.score * SCALE) + weight * len(c.themes)


def _scaled_objective(panel: Sequence[Candidate], weight: int) -> int:
    themes = frozenset().union(*(c.themes for c in panel)) if panel else frozenset()
    return sum(round(c.score * SCALE) for c in panel) + weight * len(themes)


def _shortlist(pool: list[Candidate], locked: set[int], target: int) -> list[Candidate]:
    by_value = sorted(pool, key=lambda c: (-(c.score + len(c.themes)), c.id))
    keep = {c.id for c in pool if c.id in locked}
    keep |= {c.id for c in by_value[: 3 * target]}
    for wanted in (lambda c: c.gender == WOMAN, lambda c: c.gender == MAN, lambda c: c.is_nhri or c.is_national_coalition):
        keep |= {c.id for c in [c for c in pool if wanted(c)][: target + 1]}
    return [c for c in pool if c.id in keep]


def _could_reach(pool: list[Candidate], locked: set[int], target: int, weight: int, bound: int) -> list[Candidate]:
    values = sorted((_value(c, weight) for c in pool), reverse=True)
    top_target, top_rest = sum(values[:target]), sum(values[: target - 1])
    cutoff = values[target - 1] if len(values) >= target else 0
    kept = []
    for c in pool:
        value = _value(c, weight)
        best_with_c = top_target if value >= cutoff else value + top_rest
        if c.id in locked or best_with_c >= bound:
            kept.append(c)
    return kept


def _base_model(pool, target, locked, needs_strong):
    from ortools.sat.python import cp_model  # imported on first use: it pulls in pandas, slow to load for every web worker

    model = cp_model.CpModel()
    x = {c.id: model.new_bool_var(f"x{c.id}") for c in pool}
    model.add(sum(x.values()) == target)
    by_org: dict[int, list] = {}
    for c in pool:
        by_org.setdefault(c.organisation_id, []).append(x[c.id])
    for members in by_org.values():
        if len(members) > 1:
            model.add(sum(members) <= 1)
    for cid in locked:
        if cid in x:
            model.add(x[cid] == 1)
    if needs_strong:
        model.add(sum(x[c.id] for c in pool if c.is_nhri or c.is_national_coalition) >= 1)
    women = sum(x[c.id] for c in pool if c.gender == WOMAN)
    men = sum(x[c.id] for c in pool if c.gender == MAN)
    gap = model.new_int_var(0, target, "gap")
    model.add(gap >= women - men)
    model.add(gap >= men - women)
    excess = model.new_int_var(0, target, "excess")  # distance from parity, |W - M| <= 1
    model.add(excess >= gap - 1)
    return model, x, excess


def _solver(time_limit: float):
    from ortools.sat.python import cp_model  # heavy: loaded only when a panel is composed

    solver = cp_model.CpSolver()
    solver.parameters.num_workers = 1  # one worker and a fixed seed: the same input gives the same panel
    solver.parameters.random_seed = 2012
    solver.parameters.max_time_in_seconds = time_limit
    return solver


def _min_parity_excess(pool, target, locked, needs_strong) -> int | None:
    model, _x, excess = _base_model(pool, target, locked, needs_strong)
    model.minimize(excess)
    solver = _solver(5.0)
    if solver.status_name(solver.solve(model)) != "OPTIMAL":
        return None
    return int(solver.objective_value)


def _solve(pool, target, weight, locked, needs_strong, max_excess, bound, time_limit) -> list[Candidate] | None:
    if len({c.organisation_id for c in pool}) < target or not set(locked) <= {c.id for c in pool}:
        return None
    if needs_strong and not any(c.is_nhri or c.is_national_coalition for c in pool):
        return None
    model, x, excess = _base_model(pool, target, locked, needs_strong)
    model.add(excess <= max_excess)
    themes = sorted(frozenset().union(*(c.themes for c in pool)))
    covered = {t: model.new_bool_var(f"t{t}") for t in themes}
    for theme, var in covered.items():
        model.add(var <= sum(x[c.id] for c in pool if theme in c.themes))
    main = sum(round(c.score * SCALE) * x[c.id] for c in pool) + weight * sum(covered.values())
    if bound is not None:
        model.add(main >= bound)
    n = len(pool)
    tie_break = {c.id: n - rank for rank, c in enumerate(pool)}  # pool is ranked: earlier, bigger bonus
    model.maximize((sum(tie_break.values()) + 1) * main + sum(tie_break[cid] * var for cid, var in x.items()))
    solver = _solver(time_limit)
    if solver.status_name(solver.solve(model)) not in ("OPTIMAL", "FEASIBLE"):
        return None
    return [c for c in pool if solver.value(x[c.id])]


def _explain(chosen: list[Candidate], pool: list[Candidate], theme_weight: float, needs_strong: bool) -> Result:
    w = sum(1 for c in chosen if c.gender == WOMAN)
    m = sum(1 for c in chosen if c.gender == MAN)
    covered = frozenset().union(*(c.themes for c in chosen)) if chosen else frozenset()
    picks = {}
    for c in chosen:
        others = frozenset().union(*(o.themes for o in chosen if o.id != c.id)) if len(chosen) > 1 else frozenset()
        without_w = w - (c.gender == WOMAN)
        without_m = m - (c.gender == MAN)
        if c.gender in (WOMAN, MAN):
            effect = "balances" if abs(w - m) < abs(without_w - without_m) else ("keeps" if abs(w - m) <= 1 else "unbalances")
        else:
            effect = "neutral"
        picks[c.id] = Pick(c.id, c.criteria, tuple(sorted(c.themes - others)), effect)
    panel_ids = {c.id for c in chosen}
    chosen_orgs = {c.organisation_id for c in chosen}
    reserve = [c.id for c in pool if c.id not in panel_ids and c.organisation_id not in chosen_orgs]
    return Result(
        panel=[c.id for c in chosen],
        reserve=reserve,
        objective=objective_value(chosen, theme_weight),
        themes_covered=covered,
        women=w,
        men=m,
        parity_ok=abs(w - m) <= 1,
        nhri_or_coalition_ok=(not needs_strong) or any(c.is_nhri or c.is_national_coalition for c in chosen),
        picks=picks,
    )
