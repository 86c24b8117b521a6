"""Choosing files to import, and the one-line summary of what an import did."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtWidgets import QFileDialog, QWidget

from phr_desktop.services.import_documents import IMPORT_FILE_TYPES

if TYPE_CHECKING:  # the importers load on the first import, not at start
    from phr_desktop.services.importing import ImportReport


def import_filter() -> str:
    """Every type the importer takes first (the default), then each family, then all files."""
    every = " ".join(pattern for _name, patterns in IMPORT_FILE_TYPES for pattern in patterns)
    families = [f"{name} ({' '.join(patterns)})" for name, patterns in IMPORT_FILE_TYPES]
    return ";;".join([f"Health records and documents ({every})", *families, "All files (*)"])


IMPORT_FILTER = import_filter()


def choose_import_paths(parent: QWidget, folder: bool) -> list[Path]:
    """Ask for record files or a folder (tests replace this)."""
    if folder:
        chosen = QFileDialog.getExistingDirectory(parent, "Import a folder of record files")
        return [Path(chosen)] if chosen else []
    files, _ = QFileDialog.getOpenFileNames(parent, "Import files", "", IMPORT_FILTER)
    return [Path(f) for f in files]


def import_summary(report: ImportReport) -> str:
    t = report.totals
    tried = len(report.files) - len(report.skipped)
    text = (
        f"Imported {tried - len(report.failed) - len(report.other_person)} of {tried} file(s): "
        f"{t.new:,} new, {t.updated:,} updated, {t.unchanged:,} unchanged."
    )
    if report.failed:
        text += " Not imported: " + "; ".join(
            f"{Path(f.path).name} ({f.error})" for f in report.failed[:5]
        )
        if len(report.failed) > 5:
            text += f"; and {len(report.failed) - 5} more"
        text += "."
    if report.skipped:
        text += f" Skipped {len(report.skipped)} file(s) that hold no records: " + "; ".join(
            f"{Path(f.path).name} ({f.error})" for f in report.skipped[:5]
        )
        text += f"; and {len(report.skipped) - 5} more." if len(report.skipped) > 5 else "."
    if report.other_person:
        text += f" Held as another person's: {len(report.other_person)} file(s)."
    return text
