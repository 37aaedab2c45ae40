"""
Hypothesis profiles: few examples locally, the full count in CI.

`make test` runs the "dev" profile; `.ci/run` sets HYPOTHESIS_PROFILE=ci. A property test asks for
`examples(full)`: the full count in CI, a tenth of it (at least 10) on a developer's machine.
"""

import os

from hypothesis import settings

PROFILE = os.environ.get("HYPOTHESIS_PROFILE", "dev")
settings.register_profile("ci", deadline=None, print_blob=True)
settings.register_profile("dev", deadline=None)
settings.load_profile(PROFILE)


def examples(full: int) -> int:
    return full if PROFILE == "ci" else max(10, full // 10)
