"""File → Export: each format asks where to save, then exports in a worker with progress."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from PySide6.QtWidgets import QCheckBox, QFileDialog, QMenu, QMessageBox, QWidget

from phr_desktop.services.exporting import export, export_sensitivity
from phr_desktop.services.sensitivity import SensitivityCounts
from phr_desktop.services.session import Session
from phr_desktop.services.tasks import CancelToken, ProgressCallback
from phr_desktop.ui.workers import TaskRunner

# (format, menu text, file filter, suggested file name)
EXPORT_CHOICES = (
    ("pdf", "Full record (&PDF)…", "PDF (*.pdf)", "health-record.pdf"),
    ("emergency", "&Emergency summary (PDF)…", "PDF (*.pdf)", "emergency-summary.pdf"),
    ("ccda", "&C-CDA document (CCD)…", "C-CDA XML (*.xml)", "health-record-ccd.xml"),
    ("fhir", "&FHIR Bundle…", "FHIR JSON (*.json)", "health-record.fhir.json"),
    ("ips", "Patient &summary (IPS)…", "FHIR JSON (*.json)", "patient-summary.fhir.json"),
    ("csv", "&Research table (CSV)…", "CSV (*.csv)", "measurements.csv"),
)


def ask_about_sensitive(parent: QWidget | None, counts: SensitivityCounts) -> bool | None:
    """Say how many sensitive records the export holds and offer "Include N restricted
    records" (unticked); returns whether to include them, or None when cancelled."""
    box = QMessageBox(parent)
    box.setWindowTitle("Export")
    box.setIcon(QMessageBox.Icon.Question)
    box.setText(
        f"This export holds {counts.sensitive:,} record(s) marked sensitive."
        + (
            f" {counts.restricted:,} restricted record(s) are left out unless you include them."
            if counts.restricted
            else ""
        )
    )
    check = QCheckBox(f"Include {counts.restricted:,} restricted record(s)", box)
    if counts.restricted:
        box.setCheckBox(check)
    box.setStandardButtons(QMessageBox.StandardButton.Ok | QMessageBox.StandardButton.Cancel)
    if box.exec() != QMessageBox.StandardButton.Ok:
        return None
    return check.isChecked()


class ExportMenu(QMenu):
    def __init__(
        self,
        parent: QWidget,
        runner: TaskRunner,
        current_session: Callable[[], Session | None],
        on_done: Callable[[Path], None] | None = None,
    ) -> None:
        super().__init__("&Export", parent)
        self.runner = runner
        self.current_session = current_session
        self.on_done = on_done
        for fmt, text, file_filter, suggested in EXPORT_CHOICES:
            action = self.addAction(text)
            action.triggered.connect(
                lambda _c=False, f=fmt, ff=file_filter, s=suggested: self._choose(f, ff, s)
            )

    def _choose(self, fmt: str, file_filter: str, suggested: str) -> None:
        path, _ = QFileDialog.getSaveFileName(
            self.parentWidget(), "Export", str(Path.home() / suggested), file_filter
        )
        if path:
            self.export_to(fmt, Path(path))

    def export_to(self, fmt: str, path: Path) -> None:
        session = self.current_session()
        if session is None:
            return
        include_restricted = False
        counts = export_sensitivity(session)
        if counts.sensitive or counts.restricted:
            answer = ask_about_sensitive(self.parentWidget(), counts)
            if answer is None:
                return
            include_restricted = answer

        def run(progress: ProgressCallback, cancel: CancelToken) -> Path:
            return export(
                session, fmt, path, progress=progress, cancel=cancel,
                include_restricted=include_restricted,
            )  # fmt: skip

        self.runner.run(run, title="Exporting", on_success=self.on_done)
