"""The normaliser is made faster without changing a single record (issue 16): every resource
of the test data, and damaged copies of them, give the records and stored rows they gave
before (tests/data/normalise/expected.jsonl.gz, see tests/domain/normaliser_outputs.py)."""

from __future__ import annotations

import difflib

from tests.domain.normaliser_outputs import all_rendered, expected


def test_every_test_resource_gives_the_same_record_and_row_as_before() -> None:
    now, before = list(all_rendered()), expected()
    changed = [(b, n) for b, n in zip(before, now, strict=False) if b != n]
    shown = "\n".join(
        "\n".join(difflib.unified_diff([b], [n], "before", "now", lineterm=""))
        for b, n in changed[:3]
    )
    assert not changed, f"{len(changed)} of {len(before)} resources changed, e.g.:\n{shown}"
    assert len(now) == len(before)


def test_the_damaged_copies_reach_the_odd_corners_of_the_normaliser() -> None:
    """The comparison above is only as good as its inputs: the damaged copies must give
    records with data-quality flags, out-of-range numbers and odd dates."""
    mutated = [line for line in expected() if "mutated.ndjson" in line]
    assert len(mutated) > 1500
    assert sum("unreadable date" in line for line in mutated) > 20
    assert sum("number out of range" in line for line in mutated) > 5
    assert sum("RESTRICTED" in line or "'restricted'" in line for line in mutated) > 5
