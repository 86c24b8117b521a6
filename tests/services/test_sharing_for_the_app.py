"""What the app's sharing windows need: an exact live count, and a hand-out for a key that
was held back and shown later."""

from __future__ import annotations

from pathlib import Path

import pytest

from phr_desktop.services.session import Session
from phr_desktop.services.share_history import list_shares, reveal_key, revealed_share
from phr_desktop.services.share_opening import open_share
from phr_desktop.services.sharing import (
    PRESETS,
    ShareSelection,
    count_selection,
    create_share,
    write_handout,
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


def test_a_held_back_key_shown_later_can_be_printed_and_opens_the_file(
    session: Session, demo_files: list[Path], tmp_path: Path
) -> None:
    session.import_paths(demo_files)
    created = create_share(
        session, tmp_path / "s.phrshare", ShareSelection(kinds=("problem",)), "Dr Rivera",
        hand_out_key=False,
    )  # fmt: skip
    key = reveal_key(session, created.id)
    (entry,) = list_shares(session)
    shown = revealed_share(entry, key)
    assert shown.key == key and shown.key_display.replace(" ", "") == key
    assert shown.fingerprint_display.replace(" ", "") == created.fingerprint
    assert shown.expires_at == created.expires_at and shown.record_count == created.record_count
    handout = write_handout(shown, tmp_path / "handout.pdf", label="Dr Rivera", patient_name="A")
    assert handout.read_bytes().startswith(b"%PDF")
    assert open_share(created.file, shown.key_display).record_count == created.record_count
