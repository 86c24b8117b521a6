"""What a file is comes from its content, not its name; what cannot be imported says why.

Vendor C-CDAs arrive as .txt, .ccd, .cda, .XML or with no extension, wrapped in a web page, or
with a namespace declaration that is not a valid URI; patients pick PDFs and photos by
mistake, mistype paths and point at empty folders.
"""

from __future__ import annotations

import hashlib
import os
import shutil
from pathlib import Path

import orjson
import pytest

from phr_desktop.cli import main as phr_main
from phr_desktop.services.session import RecordFilter, Session
from tests.conftest import PASSPHRASE

DATA = Path(__file__).resolve().parent.parent / "data" / "import_detection"
NEXTGEN_TXT = DATA / "CCDA_Sample_NextGen_JonesIsabella.txt"
PRACTICE_FUSION_CCD = DATA / "PracticeFusion_SummaryOfCare_export_Maria_Teller.ccd"
MDLOGIC = DATA / "ContinuityOfCareDocument_MUBatJer_20170601-145724.xml"
BBCLEAR_HTML = DATA / "kinsights-sample-timmy.bb.html"
PDF = b"%PDF-1.4\n1 0 obj<</Type/Catalog>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 32
OBSERVATION = {"resourceType": "Observation", "id": "o1", "status": "final", "code": {"text": "x"}}


def test_the_vendor_files_are_the_corpus_bytes() -> None:
    for line in (DATA / "SHA256SUMS").read_text().splitlines():
        digest, name = line.split(maxsplit=1)
        assert hashlib.sha256((DATA / name).read_bytes()).hexdigest() == digest, name


@pytest.mark.parametrize("name", ["isabella.txt", "isabella.ccd", "isabella.cda", "ISABELLA.XML",
                                  "isabella"])  # fmt: skip
def test_a_ccda_imports_whatever_it_is_named(session: Session, tmp_path: Path, name: str) -> None:
    path = tmp_path / name
    shutil.copyfile(NEXTGEN_TXT, path)
    report = session.import_paths([path])
    assert not report.failed, report.failed
    assert report.totals.new > 5
    assert session.records(RecordFilter(kinds=("problem",)))


def test_a_folder_imports_every_ccda_and_fhir_file_by_content(
    session: Session, tmp_path: Path
) -> None:
    folder = tmp_path / "download"
    folder.mkdir()
    shutil.copyfile(NEXTGEN_TXT, folder / NEXTGEN_TXT.name)
    shutil.copyfile(PRACTICE_FUSION_CCD, folder / PRACTICE_FUSION_CCD.name)
    shutil.copyfile(NEXTGEN_TXT, folder / "no-extension")
    (folder / "labs.ndjson").write_bytes(orjson.dumps(OBSERVATION) + b"\n")
    (folder / "scan.pdf").write_bytes(PDF)
    (folder / "notes.txt").write_text("call the clinic on Monday\n")
    # Two vendors' samples are two people: same_person keeps this about formats (whose record
    # a file is has its own tests, tests/services/test_person*.py).
    report = session.import_paths([folder], same_person=True)
    outcomes = {Path(f.path).name: f for f in report.files}
    imported = {n for n, f in outcomes.items() if f.status in ("imported", "unchanged")}
    assert imported == {NEXTGEN_TXT.name, PRACTICE_FUSION_CCD.name, "no-extension", "labs.ndjson"}
    assert not report.failed
    skipped = {Path(f.path).name: f.error for f in report.skipped}
    assert set(skipped) == {"scan.pdf", "notes.txt"}
    assert "PDF" in str(skipped["scan.pdf"]) and "Document (PDF or image)" in str(
        skipped["scan.pdf"]
    )
    assert "not FHIR JSON or C-CDA" in str(skipped["notes.txt"])
    as_json = report.as_dict()["files"]
    assert {"path": str(folder / "notes.txt"), "status": "skipped",
            "reason": skipped["notes.txt"]} in as_json  # fmt: skip


def test_xml_that_is_not_namespace_well_formed_is_recovered_and_flagged(
    session: Session, tmp_path: Path
) -> None:
    report = session.import_paths([MDLOGIC])
    assert not report.failed, report.failed
    assert session.records(RecordFilter(kinds=("problem",)))
    flags = [f for d in session.records() for f in d.record.quality]
    assert any("not a valid URI" in flag for flag in flags)
    stored = session.store.document_bytes(hashlib.sha256(MDLOGIC.read_bytes()).hexdigest())
    assert stored == MDLOGIC.read_bytes()  # the vendor's file, as it came


def test_a_ccda_inside_a_web_page_is_taken_out_and_flagged(session: Session) -> None:
    report = session.import_paths([BBCLEAR_HTML])
    assert not report.failed, report.failed
    assert session.records(RecordFilter(kinds=("immunization",)))
    flags = [f for d in session.records() for f in d.record.quality]
    assert any("web page" in flag for flag in flags)


def test_a_web_page_without_a_ccda_is_refused_saying_what_it_is(
    session: Session, tmp_path: Path
) -> None:
    page = tmp_path / "record.html"
    page.write_text("<!DOCTYPE html><html><body><p>Your record</p></body></html>")
    (outcome,) = session.import_paths([page]).files
    assert outcome.status == "failed"
    assert "web page (HTML)" in str(outcome.error) and "C-CDA" in str(outcome.error)


@pytest.mark.parametrize(
    ("name", "data", "what"),
    [("scan.pdf", PDF, "PDF"), ("photo.png", PNG, "image (PNG)"), ("photo.json", PNG, "image")],
)
def test_a_pdf_or_image_named_directly_says_how_to_add_it_as_a_document(
    session: Session, tmp_path: Path, name: str, data: bytes, what: str
) -> None:
    path = tmp_path / name
    path.write_bytes(data)
    (outcome,) = session.import_paths([path]).files
    assert outcome.status == "failed"
    assert what in str(outcome.error)
    assert "File > New entry > Document (PDF or image)" in str(outcome.error)
    assert "UTF-8" not in str(outcome.error) and "download it again" not in str(outcome.error)
    count = session.vault.conn.execute("SELECT count(*) FROM source_documents").fetchone()[0]
    assert count == 0  # not a source of records: nothing kept


def test_a_missing_path_says_it_is_missing(session: Session, tmp_path: Path) -> None:
    (outcome,) = session.import_paths([tmp_path / "nowhere.json"]).files
    assert outcome.status == "failed"
    assert "does not exist" in str(outcome.error) and "nowhere.json" in str(outcome.error)


def test_an_empty_folder_says_nothing_was_found(session: Session, tmp_path: Path) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    (outcome,) = session.import_paths([empty]).files
    assert outcome.status == "failed"
    assert "Nothing to import was found" in str(outcome.error)


def test_a_folder_of_only_other_files_lists_them_and_says_nothing_was_found(
    session: Session, tmp_path: Path
) -> None:
    folder = tmp_path / "scans"
    folder.mkdir()
    (folder / "a.pdf").write_bytes(PDF)
    report = session.import_paths([folder])
    assert [Path(f.path).name for f in report.skipped] == ["a.pdf"]
    (failed,) = report.failed
    assert "Nothing to import" in str(failed.error) and "1 other file(s) skipped" in str(
        failed.error
    )


def test_the_cli_reports_skipped_and_missing_files_without_a_traceback(
    session: Session, data_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = tmp_path / "mixed"
    folder.mkdir()
    shutil.copyfile(PRACTICE_FUSION_CCD, folder / "summary.ccd")
    (folder / "scan.pdf").write_bytes(PDF)
    passphrase = tmp_path / "pass"
    passphrase.write_text(PASSPHRASE)
    args = ["--data-dir", str(data_dir), "--profile", "alex", "--passphrase-file", str(passphrase)]
    session.close()
    code = phr_main([*args, "import", str(folder), str(tmp_path / "gone.json")])
    out, err = capsys.readouterr()
    assert code != 0  # one path failed
    assert "skipped" in out and "scan.pdf" in out and "Document (PDF or image)" in out
    assert "gone.json does not exist" in err
    assert "Traceback" not in out + err


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="named pipes are a POSIX thing")
def test_a_device_or_pipe_named_directly_is_refused_without_reading_it(
    session: Session, tmp_path: Path
) -> None:
    pipe = tmp_path / "pipe.json"
    os.mkfifo(pipe)  # reading it would wait forever; /dev/zero would fill the memory
    paths = [pipe, Path("/dev/zero")] if Path("/dev/zero").exists() else [pipe]
    outcomes = session.import_paths(paths).files
    assert [o.status for o in outcomes] == ["failed"] * len(paths)
    assert all("not a regular file" in str(o.error) for o in outcomes)
