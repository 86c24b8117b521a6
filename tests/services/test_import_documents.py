"""One import for what a patient downloads: C-CDA under any of its usual names, FHIR, and
PDFs or images kept as documents; a bad document is reported, never half-stored."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from phr_desktop.services.import_documents import import_files
from phr_desktop.services.profiles import Profiles
from phr_desktop.services.session import Session

from ..conftest import PASSPHRASE

CCDA = Path(__file__).resolve().parent.parent / "data" / "ccda" / "vendors" / "CCD-Sample.xml"


def test_a_ccda_saved_as_txt_is_read_as_ccda(session: Session, tmp_path: Path) -> None:
    saved = tmp_path / "my-record.txt"
    shutil.copyfile(CCDA, saved)
    report = import_files(session, [saved])
    assert not report.failed
    assert report.totals.new > 1  # the document and its entries, not one unreadable file


def test_a_text_file_that_is_not_xml_is_refused_with_its_reason(
    session: Session, tmp_path: Path
) -> None:
    notes = tmp_path / "notes.txt"
    notes.write_text("just some words")
    report = import_files(session, [notes])
    assert [f.path for f in report.failed] == [str(notes)]


def test_a_pdf_and_an_image_are_kept_as_documents(session: Session, tmp_path: Path) -> None:
    letter = tmp_path / "clinic_letter.pdf"
    letter.write_bytes(b"%PDF-1.4\n%%EOF\n")
    scan = tmp_path / "scan.png"
    scan.write_bytes(b"\x89PNG\r\n\x1a\n")
    report = import_files(session, [letter, scan])
    assert [f.status for f in report.files] == ["imported", "imported"]
    titles = {s.record.title for s in session.records()}
    assert {"clinic letter", "scan"} <= titles


def test_an_unsupported_document_is_reported_and_nothing_is_stored(
    session: Session, tmp_path: Path
) -> None:
    missing = tmp_path / "gone.pdf"  # vanished between choosing and importing
    report = import_files(session, [missing])
    assert report.failed and "does not exist" in (report.failed[0].error or "")
    assert session.counts_by_kind() == {}


def test_phr_import_keeps_a_pdf_as_a_document_too(
    profiles: Profiles, fast_kdf: None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from phr_desktop.cli import main

    profiles.create("alex", PASSPHRASE)[0].close()
    letter = tmp_path / "discharge-letter.pdf"
    letter.write_bytes(b"%PDF-1.4\n%%EOF\n")
    monkeypatch.setenv("PHR_PASSPHRASE", PASSPHRASE)
    code = main(["--data-dir", str(profiles.data_dir), "--profile", "alex", "import", str(letter)])
    assert code == 0
    with profiles.unlock("alex", passphrase=PASSPHRASE) as session:
        assert {s.record.title for s in session.records()} == {"discharge letter"}
