"""
How long assigning reviewers to a whole session takes: 14 States x 200 applications, 20 reviewers,
two reviews each (issue 19's target: under 5 seconds).

Run: python bench/assign_reviewers.py  (no database needed: it times applications.assignment directly)
Prints the wall time of each repetition and the median, for the whole session at once and for 50
late applications assigned around the existing reviews. Seeded, so every run solves the same session.
"""

import random
import statistics
import sys
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from applications.assignment import Item, Reviewer, assign  # noqa: E402

STATES, APPLICATIONS, REVIEWERS, K, REPEAT, LATE = 14, 200, 20, 2, 5, 50


def session(seed=2012):
    rng = random.Random(seed)
    reviewers = []
    for rid in range(1, REVIEWERS + 1):
        languages = {"en"} | set(rng.sample(["fr", "es"], rng.randint(0, 2)))
        states = None if rid % 4 else frozenset(rng.sample(range(STATES), 7))  # a quarter review half the States
        reviewers.append(Reviewer(id=rid, capacity=rng.choice([250, 300, 350]), states=states, languages=frozenset(languages)))
    items = []
    for state in range(STATES):
        for n in range(APPLICATIONS):
            conflicts = frozenset(rng.sample(range(1, REVIEWERS + 1), 1)) if rng.random() < 0.05 else frozenset()
            language = rng.choices(["en", "fr", "es"], [60, 25, 15])[0]
            items.append(Item(id=state * 1000 + n, state=state, language=language, conflicts=conflicts))
    return items, reviewers


def timed(function):
    start = time.perf_counter()
    result = function()
    return time.perf_counter() - start, result


def main():
    items, reviewers = session()
    times = []
    for _ in range(REPEAT):
        elapsed, proposal = timed(lambda: assign(items, reviewers, K))
        times.append(elapsed)
    given = Counter(i for i, _r in proposal.pairs)
    print(
        f"assign {STATES} States x {APPLICATIONS} applications to {REVIEWERS} reviewers, {K} reviews each: "
        + ", ".join(f"{t:.3f}s" for t in times)
    )
    print(
        f"median {statistics.median(times):.3f}s (target: under 5 s); {len(proposal.pairs)} reviews, "
        f"{sum(1 for i in items if given[i.id] == K)} of {len(items)} applications fully covered, "
        f"loads {min(proposal.loads.values())}-{max(proposal.loads.values())}"
    )
    # Late applications, around the reviews already given.
    by_item = {}
    for item_id, reviewer_id in proposal.pairs:
        by_item.setdefault(item_id, set()).add(reviewer_id)
    existing = [Item(i.id, i.state, i.language, i.conflicts, frozenset(by_item.get(i.id, ()))) for i in items]
    rng = random.Random(7)
    late = [Item(id=100_000 + n, state=rng.randrange(STATES), language="en") for n in range(LATE)]
    loaded = [Reviewer(r.id, r.capacity, r.states, r.languages, proposal.loads[r.id]) for r in reviewers]
    elapsed, incremental = timed(lambda: assign(existing + late, loaded, K))
    moved = [pair for pair in incremental.pairs if pair[0] < 100_000]
    print(f"{LATE} late applications around the existing reviews: {elapsed:.3f}s; existing reviews moved: {len(moved)}")


if __name__ == "__main__":
    main()
