"""The fuzz suite's knobs: a short run by default, a long one with PHR_FUZZ_EXAMPLES.

    PHR_FUZZ_EXAMPLES=2000 python -m pytest tests/fuzz -p no:cacheprovider

runs every property with that many examples (the default, 300 per property, keeps the whole
suite near 20 s on two cores).
"""

from __future__ import annotations

import os
import resource
import sys

from hypothesis import HealthCheck, settings

EXAMPLES = int(os.environ.get("PHR_FUZZ_EXAMPLES", "300"))
# A mutated input is at most a few hundred kB; reading it may grow the process's high-water
# memory by this much at most (an unbounded parse of hostile input would blow through it).
MAX_GROWTH_BYTES = 96 * 2**20

FUZZ = settings(
    max_examples=EXAMPLES,
    deadline=None,
    derandomize=EXAMPLES <= 300,  # the default run is the same every time; a long one explores
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture,
                           HealthCheck.data_too_large],
)  # fmt: skip


def peak_rss_bytes() -> int:
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak if sys.platform == "darwin" else peak * 1024
