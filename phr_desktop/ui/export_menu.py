"""File → Export: each format asks where to save, then exports in a worker with progress."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from pathlib import Path

from PySide6.QtWidgets import QCheckBox, QFileDialog, QMenu, QMessageBox, QWidget

from phr_desktop.services.file_names import export_file_name, person_name
from phr_desktop.services.sensitivity import SensitivityCounts
from phr_desktop.services.session import Session
from phr_desktop.services.tasks import CancelToken, ProgressCallback
from phr_desktop.ui.workers import TaskRunner

# (format, menu text, file filter, what the file is called): the menu says what each file is
# for, not its format's acronym alone.
EXPORT_CHOICES = (
    ("pdf", "Full record to read or print (&PDF)…", "PDF (*.pdf)", "health record", ".pdf"),
    ("emergency", "&Emergency summary for your wallet (PDF)…", "PDF (*.pdf)",
     "emergency summary", ".pdf"),
    ("wallet", "Emergency &wallet card (PDF)…", "PDF (*.pdf)", "emergency wallet card",
     ".pdf"),
    ("ccda", "&C-CDA (for another doctor's system)…", "C-CDA XML (*.xml)", "health record CCD",
     ".xml"),
    ("fhir", "&FHIR (for health apps and developers)…", "FHIR JSON (*.json)", "health record",
     ".fhir.json"),
    ("ips", "International patient &summary (IPS, for travel)…", "FHIR JSON (*.json)",
     "patient summary", ".fhir.json"),
    ("csv", "&Research table of lung and liver tests (CSV)…", "CSV (*.csv)", "measurements",
     ".csv"),
)  # fmt: skip


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
        for fmt, text, file_filter, what, suffix in EXPORT_CHOICES:
            action = self.addAction(text)
            action.triggered.connect(
                lambda _c=False, f=fmt, ff=file_filter, w=what, x=suffix: self._choose(f, ff, w, x)
            )

    def suggested_path(self, what: str, suffix: str) -> Path:
        """ "Zoë Yamada health record 2026-12-06.pdf": whose, what and when, in the home folder."""
        session = self.current_session()
        person = person_name(session) if session is not None else ""
        return Path.home() / export_file_name(person, what, date.today(), suffix)

    def _choose(self, fmt: str, file_filter: str, what: str, suffix: str) -> None:
        path, _ = QFileDialog.getSaveFileName(
            self.parentWidget(), "Export", str(self.suggested_path(what, suffix)), file_filter
        )
        if path:
            self.export_to(fmt, Path(path))

    def export_to(self, fmt: str, path: Path) -> None:
        session = self.current_session()
        if session is None:
            return
        # The exporters (PDF, C-CDA, FHIR writers) load on the first export, not at start.
        from phr_desktop.services.exporting import export, export_sensitivity

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
