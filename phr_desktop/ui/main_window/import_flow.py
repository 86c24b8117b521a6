"""Importing into the open profile, files held as another's, and the empty dashboard's steps."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtWidgets import QMessageBox

from phr_desktop.services.demo import open_demo
from phr_desktop.services.import_documents import import_files
from phr_desktop.services.session import Session
from phr_desktop.services.tasks import CancelToken, ProgressCallback
from phr_desktop.ui import other_person_dialog, style
from phr_desktop.ui.dashboard import Dashboard
from phr_desktop.ui.import_choice import choose_import_paths, import_summary

if TYPE_CHECKING:  # the importers load on the first import, not at start
    from phr_desktop.services.importing import FileOutcome, ImportReport

from phr_desktop.ui.main_window.base import MainWindowBase


class MainWindowImports(MainWindowBase):
    """Import files or a folder, decide held files, open the demo (a part of `MainWindow`)."""

    # --- import -------------------------------------------------------------------------------

    def import_clicked(self, *, folder: bool) -> None:
        paths = choose_import_paths(self, folder)
        if paths:
            self.import_paths(paths)

    def import_paths(self, paths: list[Path], *, same_person: bool = False) -> None:
        session = self.session
        if session is None:
            return

        def run(progress: ProgressCallback, cancel: CancelToken) -> ImportReport:
            return import_files(
                session, paths, progress=progress, cancel=cancel, same_person=same_person
            )

        self.runner.run(
            run, title="Importing", on_success=self._imported, on_error=self._import_failed
        )

    def _imported(self, report: ImportReport) -> None:
        self.refresh_views()
        self._person_changed()  # the first imported Patient may have set the person
        summary = import_summary(report)
        self.statusBar().showMessage(summary, 15_000)
        if report.failed:
            style.show_message(self, QMessageBox.Icon.Warning, "Import", summary)
        self._decide_held(report.other_person)

    def _decide_held(self, held: list[FileOutcome]) -> None:
        """Each file held as another person's: the patient chooses, one file at a time."""
        mine, elsewhere = other_person_dialog.decide_held(self, held)
        if mine:
            self.import_paths(mine, same_person=True)
        if elsewhere:
            self.pending_import = elsewhere
            self.lock()
            self.statusBar().showMessage(
                f"Open or create that person's profile: {len(elsewhere)} file(s) will be "
                "imported into it (and checked again).",
                30_000,
            )

    def _import_failed(self, _exc: BaseException) -> bool:
        self.refresh_views()  # files finished before the failure or cancel are in
        return False

    # --- get started: the empty dashboard's first steps ---------------------------------------

    def _wire_getting_started(self, dashboard: Dashboard) -> None:
        dashboard.importRequested.connect(lambda: self.import_clicked(folder=False))
        dashboard.addResultRequested.connect(lambda: self.new_entry("LabResultDialog"))
        dashboard.demoRequested.connect(self.open_demo_clicked)

    def open_demo_clicked(self) -> None:
        """Lock this profile and open the demo (created on first use) in its place."""
        profiles = self.profiles
        self.lock()

        def run(progress: ProgressCallback, _cancel: CancelToken) -> Session:
            session, _created = open_demo(profiles, progress)
            return session

        self.runner.run(
            run, title="Opening the demo", on_success=self.open_session, cancellable=False
        )
