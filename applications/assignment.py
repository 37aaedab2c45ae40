"""
Assign reviewers to applications: each application gets `k` reviews, each reviewer a fair load.

Solver: a minimum-cost maximum flow (OR-Tools' SimpleMinCostFlow). The problem is a transport
problem with integer capacities, so a flow solves it exactly and fast (a session of 14 States x 200
applications and 20 reviewers in well under a second), where a CP-SAT model with one variable per
pair would be slower for no better answer:

    source --(k minus the reviews it already has)--> application
    application --(1, when the pair is allowed)--> reviewer
    reviewer --(one unit arc per place left, at a rising cost)--> sink

The rules, in order of priority:

1. Hard: a reviewer reviews an application at most once; only applications on the States they may
   review, in a language they work in, and none they conflict with; never more than their capacity,
   counting what they already have. Existing assignments never move (new applications are added
   incrementally around them).
2. As many reviews as possible, up to `k` per application: the flow is maximal. An application that
   cannot get `k` is reported with how many it lacks.
3. Fair loads: the j-th review of a reviewer of capacity C costs about j / C, a convex cost, so the
   cheapest maximal flow spreads the work in proportion to capacity; two reviewers of equal capacity
   and the same eligibility end up with loads that differ by at most one.
4. The input is sorted by id before it is solved, so the same input always gives the same proposal.

This module has no Django imports.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

COST_SCALE = 1_000_000  # the unit cost j / C, in integers


@dataclass(frozen=True)
class Reviewer:
    id: int
    capacity: int
    states: frozenset[int] | None = None  # None: every State
    languages: frozenset[str] | None = None  # None: every language
    existing_load: int = 0  # reviews already assigned, in this session


@dataclass(frozen=True)
class Item:
    """An application to review."""

    id: int
    state: int
    language: str = ""
    conflicts: frozenset[int] = frozenset()  # reviewer ids who may not review it
    assigned: frozenset[int] = frozenset()  # reviewer ids who already have it


@dataclass
class Proposal:
    pairs: list[tuple[int, int]] = field(default_factory=list)  # (application id, reviewer id), new ones only
    short: dict[int, int] = field(default_factory=dict)  # application id -> reviews it still lacks
    loads: dict[int, int] = field(default_factory=dict)  # reviewer id -> load after the proposal

    def reviewers_of(self, item_id: int) -> list[int]:
        return sorted(r for i, r in self.pairs if i == item_id)


def allowed(reviewer: Reviewer, item: Item) -> bool:
    """May this reviewer be given this application (ignoring capacity)?"""
    if reviewer.id in item.conflicts or reviewer.id in item.assigned:
        return False
    if reviewer.states is not None and item.state not in reviewer.states:
        return False
    return not (reviewer.languages is not None and item.language and item.language not in reviewer.languages)


def unit_cost(reviewer: Reviewer, j: int) -> int:
    """The cost of the reviewer's j-th review (1-based, counting existing ones): rising, so loads spread."""
    return (COST_SCALE * j) // max(reviewer.capacity, 1)


def assign(items: Sequence[Item], reviewers: Sequence[Reviewer], k: int) -> Proposal:
    """The proposal: new (application, reviewer) pairs under the rules above."""
    from ortools.graph.python import min_cost_flow

    items = sorted(items, key=lambda i: i.id)
    reviewers = sorted(reviewers, key=lambda r: r.id)
    proposal = Proposal(loads={r.id: r.existing_load for r in reviewers})
    need = {item.id: max(k - len(item.assigned), 0) for item in items}
    if not items or not reviewers or k <= 0:
        proposal.short = {i: n for i, n in need.items() if n}
        return proposal

    flow = min_cost_flow.SimpleMinCostFlow()
    source, sink = 0, 1
    item_node = {item.id: 2 + n for n, item in enumerate(items)}
    reviewer_node = {r.id: 2 + len(items) + n for n, r in enumerate(reviewers)}
    pair_arcs: list[tuple[int, int, int]] = []
    for item in items:
        if need[item.id]:
            flow.add_arc_with_capacity_and_unit_cost(source, item_node[item.id], need[item.id], 0)
    for item in items:
        if not need[item.id]:
            continue
        for reviewer in reviewers:
            if allowed(reviewer, item):
                arc = flow.add_arc_with_capacity_and_unit_cost(item_node[item.id], reviewer_node[reviewer.id], 1, 0)
                pair_arcs.append((arc, item.id, reviewer.id))
    for reviewer in reviewers:
        for j in range(reviewer.existing_load + 1, reviewer.capacity + 1):
            flow.add_arc_with_capacity_and_unit_cost(reviewer_node[reviewer.id], sink, 1, unit_cost(reviewer, j))
    if pair_arcs:
        total = sum(need.values())
        flow.set_node_supply(source, total)
        flow.set_node_supply(sink, -total)
        status = flow.solve_max_flow_with_min_cost()
        if status != flow.OPTIMAL:
            raise RuntimeError(f"the assignment flow did not solve (status {status})")
        for arc, item_id, reviewer_id in pair_arcs:
            if flow.flow(arc):
                proposal.pairs.append((item_id, reviewer_id))
                proposal.loads[reviewer_id] += 1
                need[item_id] -= 1
    proposal.short = {i: n for i, n in need.items() if n}
    return proposal


def total_cost(loads: dict[int, int], reviewers: Iterable[Reviewer]) -> int:
    """The fairness cost of final loads (what the flow minimises), for tests and comparisons."""
    by_id = {r.id: r for r in reviewers}
    return sum(unit_cost(by_id[r], j) for r, load in loads.items() for j in range(by_id[r].existing_load + 1, load + 1))
