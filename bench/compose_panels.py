"""
How long composing a whole session's panels takes: 14 States, 200 candidates each.

Run: python bench/compose_panels.py  (no database needed: it times panels.composition directly)
Prints the wall time of each repetition, and the median. Seeded, so every run solves the same pools.
"""

import random
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from panels.composition import Candidate, compose  # noqa: E402

STATES, CANDIDATES, SLOTS, REPEAT = 14, 200, 5, 5


def pools(seed=2012):
    rng = random.Random(seed)
    result = []
    for state in range(STATES):
        pool = []
        for i in range(CANDIDATES):
            cid = state * 1000 + i
            pool.append(
                Candidate(
                    id=cid,
                    organisation_id=cid if rng.random() > 0.1 else cid - 1,  # some organisations apply twice
                    score=round(rng.uniform(0, 10), 2) if rng.random() > 0.2 else 0.0,  # a fifth not reviewed yet
                    themes=frozenset(rng.sample(range(54), rng.randint(1, 3))),
                    gender=rng.choices(["woman", "man", "non_binary", "undisclosed"], [55, 40, 3, 2])[0],
                    is_nhri=i == 0,
                    is_national_coalition=rng.random() < 0.12,
                )
            )
        result.append(pool)
    return result


def main():
    data = pools()
    times = []
    for _ in range(REPEAT):
        start = time.perf_counter()
        results = [compose(pool, SLOTS) for pool in data]
        times.append(time.perf_counter() - start)
    assert all(r.feasible and len(r.panel) == SLOTS and r.parity_ok for r in results)
    print(f"compose {STATES} panels x {CANDIDATES} candidates: " + ", ".join(f"{t:.3f}s" for t in times))
    print(f"median {statistics.median(times):.3f}s (target: under 1 s)")


if __name__ == "__main__":
    main()
