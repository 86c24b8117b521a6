"""The share dialog's live count says exactly how many records a share will hold."""

from __future__ import annotations

from pathlib import Path

import pytest

from phr_desktop.services.session import Session
from phr_desktop.services.sharing import (
    PRESETS,
    ShareSelection,
    count_selection,
    create_share,
)


@pytest.mark.parametrize(
    "selection",
    [
        PRESETS["pulmonologist"],
        ShareSelection(),
        ShareSelection(kinds=("lab_result",), since="2018", tag="lung_function"),
    ],
    ids=["preset", "everything", "filter"],
)
def test_the_count_matches_the_records_sealed(
    session: Session, demo_files: list[Path], tmp_path: Path, selection: ShareSelection
) -> None:
    session.import_paths(demo_files)
    expected = count_selection(session, selection)
    created = create_share(session, tmp_path / "s.phrshare", selection, "Dr Rivera")
    assert expected == created.record_count > 0


def test_nothing_matching_counts_zero(session: Session, demo_files: list[Path]) -> None:
    session.import_paths(demo_files)
    assert count_selection(session, ShareSelection(since="2999")) == 0
