"""
Issue 19, the assignment rules (applications/assignment.py, no Django): checked against brute force
on small instances, and for fairness and the hard rules on generated data.
"""

import itertools
import random
from collections import Counter

import pytest

from applications.assignment import Item, Reviewer, allowed, assign, total_cost


def brute_force(items, reviewers, k):
    """The best (most reviews, then cheapest loads) over every way to give each item some of its allowed reviewers."""
    choices = []
    for item in items:
        need = max(k - len(item.assigned), 0)
        eligible = [r.id for r in reviewers if allowed(r, item)]
        options = [c for size in range(min(need, len(eligible)) + 1) for c in itertools.combinations(eligible, size)]
        choices.append(options)
    capacity = {r.id: r.capacity for r in reviewers}
    best = None
    for picks in itertools.product(*choices):
        loads = Counter({r.id: r.existing_load for r in reviewers})
        for chosen in picks:
            loads.update(chosen)
        if any(loads[r] > capacity[r] for r in capacity):
            continue
        key = (sum(len(c) for c in picks), -total_cost(dict(loads), reviewers))
        best = key if best is None or key > best else best
    return best


def random_instance(rng):
    states = [1, 2]
    reviewers = []
    for rid in range(1, rng.randint(1, 3) + 1):
        reviewers.append(
            Reviewer(
                id=rid,
                capacity=rng.randint(0, 4),
                states=None if rng.random() < 0.5 else frozenset(rng.sample(states, rng.randint(1, 2))),
                languages=None if rng.random() < 0.5 else frozenset(rng.sample(["en", "fr", "es"], rng.randint(1, 2))),
            )
        )
    items = []
    for iid in range(1, rng.randint(1, 4) + 1):
        conflicts = frozenset(r.id for r in reviewers if rng.random() < 0.2)
        assigned = frozenset(r.id for r in reviewers if r.id not in conflicts and rng.random() < 0.15)
        items.append(
            Item(
                id=iid,
                state=rng.choice(states),
                language=rng.choice(["en", "fr", "es", ""]),
                conflicts=conflicts,
                assigned=assigned,
            )
        )
    existing = Counter(r for item in items for r in item.assigned)
    reviewers = [Reviewer(r.id, max(r.capacity, existing[r.id]), r.states, r.languages, existing[r.id]) for r in reviewers]
    return items, reviewers, rng.randint(1, 3)


@pytest.mark.parametrize("seed", range(250))
def test_the_flow_matches_brute_force(seed):
    items, reviewers, k = random_instance(random.Random(seed))
    proposal = assign(items, reviewers, k)
    by_id = {r.id: r for r in reviewers}
    loads = Counter({r.id: r.existing_load for r in reviewers})
    for item_id, reviewer_id in proposal.pairs:
        item = next(i for i in items if i.id == item_id)
        assert allowed(by_id[reviewer_id], item)
        loads[reviewer_id] += 1
    assert len(set(proposal.pairs)) == len(proposal.pairs)
    assert all(loads[r.id] <= r.capacity for r in reviewers)
    assert dict(loads) == proposal.loads
    got = (len(proposal.pairs), -total_cost(dict(loads), reviewers))
    assert got == brute_force(items, reviewers, k)
    for item in items:
        assert proposal.short.get(item.id, 0) == max(k - len(item.assigned), 0) - len(proposal.reviewers_of(item.id))


def test_equal_reviewers_get_loads_within_one_and_every_application_its_reviews():
    rng = random.Random(19)
    reviewers = [Reviewer(id=r, capacity=60) for r in range(1, 8)]
    items = [Item(id=i, state=rng.randint(1, 14), language=rng.choice(["en", "fr", "es"])) for i in range(1, 200)]
    proposal = assign(items, reviewers, 2)
    assert proposal.short == {}
    assert all(len(proposal.reviewers_of(i.id)) == 2 for i in items)
    assert max(proposal.loads.values()) - min(proposal.loads.values()) <= 1


def test_loads_follow_capacity_and_the_hard_rules_hold():
    reviewers = [
        Reviewer(id=1, capacity=10, languages=frozenset({"en"})),
        Reviewer(id=2, capacity=10, languages=frozenset({"en", "fr"})),
        Reviewer(id=3, capacity=40, states=frozenset({1})),
    ]
    items = [
        Item(id=i, state=1 + i % 2, language="fr" if i % 3 == 0 else "en", conflicts=frozenset({3}) if i == 4 else frozenset())
        for i in range(1, 21)
    ]
    proposal = assign(items, reviewers, 2)
    pairs = set(proposal.pairs)
    assert (4, 3) not in pairs  # a conflict
    assert not any(r == 1 and items[i - 1].language == "fr" for i, r in pairs)  # a language the reviewer does not work in
    assert not any(r == 3 and items[i - 1].state != 1 for i, r in pairs)  # a State they may not review
    assert proposal.loads[1] <= 10 and proposal.loads[2] <= 10
    # State 2's French applications have only reviewer 2: the ones they cannot reach are reported short.
    assert all(n > 0 for n in proposal.short.values())


def test_existing_assignments_stay_and_new_applications_fill_around_them():
    reviewers = [Reviewer(id=1, capacity=3, existing_load=3), Reviewer(id=2, capacity=5, existing_load=1)]
    items = [Item(id=1, state=1, assigned=frozenset({1, 2})), Item(id=2, state=1)]
    proposal = assign(items, reviewers, 2)
    assert proposal.pairs == [(2, 2)]  # reviewer 1 is full; application 1 keeps its two
    assert proposal.short == {2: 1} and proposal.loads == {1: 3, 2: 2}
