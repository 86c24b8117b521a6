"""The app's import summary says what was imported, what failed and what a folder held that
is no record, each with why."""

from __future__ import annotations

from pathlib import Path

from phr_desktop.services.importing import FileOutcome, ImportReport
from phr_desktop.services.session import Session
from phr_desktop.ui.import_choice import import_summary


def test_the_summary_counts_tried_files_and_names_skipped_ones_with_why(
    session: Session, tmp_path: Path
) -> None:
    folder = tmp_path / "download"
    folder.mkdir()
    (folder / "scan.pdf").write_bytes(b"%PDF-1.4\n%%EOF\n")
    (folder / "obs.json").write_bytes(
        b'{"resourceType":"Observation","id":"o1","status":"final","code":{"text":"x"}}'
    )
    report = session.import_paths([folder, tmp_path / "gone.json"])
    text = import_summary(report)
    assert text.startswith("Imported 1 of 2 file(s)")
    assert "gone.json" in text and "does not exist" in text
    assert "Skipped 1 file(s)" in text and "scan.pdf" in text and "Document (PDF or image)" in text


def test_a_summary_with_nothing_skipped_does_not_mention_skipping() -> None:
    report = ImportReport(files=[FileOutcome("/a.json", "unchanged")])
    assert "Skipped" not in import_summary(report)
