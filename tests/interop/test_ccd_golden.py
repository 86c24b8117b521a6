"""The CCD export writes exactly the bytes it wrote before it streamed (the goldens in
tests/data/ccd_export/golden/, made with the code that built the whole tree first)."""

from __future__ import annotations

from pathlib import Path

import pytest

from phr_desktop.services.session import Session
from tests.interop.ccd_golden import CASES, GoldenCase, export_case


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_the_ccd_export_is_byte_for_byte_the_golden_one(
    session: Session, tmp_path: Path, case: GoldenCase
) -> None:
    written = export_case(case, session, tmp_path / "ccd.xml")

    golden = case.golden.read_bytes()
    if written != golden:  # the first differing line, not two 700 kB strings
        ours, theirs = written.splitlines(), golden.splitlines()
        pairs = enumerate(zip(ours, theirs, strict=False))
        n = next((n for n, (line, expected) in pairs if line != expected), None)
        if n is None:
            pytest.fail(f"{len(ours)} lines written, the golden has {len(theirs)}")
        pytest.fail(f"line {n + 1} differs:\n  written: {ours[n]!r}\n  golden:  {theirs[n]!r}")
