"""One import for everything a patient downloads: record files (C-CDA, FHIR) go to the importer,
PDFs and images are kept as documents, each with its own line in the report.

A patient's download folder mixes a CCD with a discharge letter as PDF; asking them to use two
different menus for these is a stall in the first hour.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING

from phr_desktop.services.errors import USER_ERRORS
from phr_desktop.services.tasks import CancelToken, Progress, ProgressCallback, no_progress
from phr_desktop.vault.write_types import WriteCounts

if TYPE_CHECKING:
    from phr_desktop.services.importing import ImportReport
    from phr_desktop.services.session import Session

DOCUMENT_SUFFIXES = (".pdf", ".png", ".jpg", ".jpeg", ".tif", ".tiff", ".heic")
# (what a patient calls it, the file name patterns): the import dialog's filters, in this order.
IMPORT_FILE_TYPES: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("C-CDA documents", ("*.xml", "*.ccd", "*.cda", "*.txt")),
    ("FHIR files", ("*.json", "*.ndjson", "*.jsonl")),
    ("PDFs and images (kept as documents)", tuple(f"*{s}" for s in DOCUMENT_SUFFIXES)),
)


def is_document(path: Path) -> bool:
    return path.suffix.lower() in DOCUMENT_SUFFIXES


def _document_title(path: Path) -> str:
    return path.stem.replace("_", " ").replace("-", " ").strip() or path.name


def _file_date(path: Path) -> str:
    """The day the file was saved: the best guess of the letter's date a file name gives."""
    try:
        return date.fromtimestamp(path.stat().st_mtime).isoformat()
    except OSError:
        return date.today().isoformat()


def import_files(
    session: Session,
    paths: Sequence[Path],
    *,
    source_name: str | None = None,
    progress: ProgressCallback = no_progress,
    cancel: CancelToken | None = None,
    same_person: bool = False,
) -> ImportReport:
    """Import record files and keep documents; one report for both. `same_person`: files for
    someone the profile's person does not match are imported as that person anyway."""
    # Imported on the first import, not when the window that offers it starts.
    from phr_desktop.services.importing import FileOutcome, ImportReport

    documents = [p for p in paths if p.is_file() and is_document(p)]
    records = [p for p in paths if p not in documents]
    report = (
        session.import_paths(
            records,
            source_name=source_name,
            progress=progress,
            cancel=cancel,
            same_person=same_person,
        )
        if records
        else ImportReport()
    )
    for index, path in enumerate(documents):
        if cancel is not None:
            cancel.raise_if_cancelled()
        progress(Progress(index, len(documents), f"Keeping {path.name} as a document"))
        try:
            session.entries.upload_document(path, _document_title(path), _file_date(path))
        except USER_ERRORS as exc:
            report.files.append(FileOutcome(str(path), "failed", error=str(exc)))
            continue
        counts = WriteCounts(new=1, records=1)
        report.files.append(FileOutcome(str(path), "imported", counts=counts))
        report.totals.add(counts)
    return report
