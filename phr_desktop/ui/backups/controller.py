"""The app's side of backups: the menu actions, and automatic runs in the background.

After a change (the main window pokes it after imports, syncs and entries; a timer checks
too) a backup that is due is planned on the GUI thread, written and verified on a worker,
and recorded in the vault back on the GUI thread. A failure never interrupts anything: it
becomes the dashboard's warning and a status-bar message.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QObject, QTimer, Signal
from PySide6.QtGui import QAction
from PySide6.QtWidgets import QMainWindow, QMessageBox

from phr_desktop.services.auto_backup import BackupOutcome, BackupPlan
from phr_desktop.services.errors import USER_ERRORS
from phr_desktop.services.profiles import Profiles
from phr_desktop.services.restore import RestoreReport
from phr_desktop.services.session import Session
from phr_desktop.ui import style
from phr_desktop.ui.backups.dialogs import AutoBackupDialog, RestoreDialog, choose_folder
from phr_desktop.ui.workers import TaskRunner

POLL_MS = 30_000  # how often a change not yet backed up is looked for


class BackupController(QObject):
    statusChanged = Signal()  # the dashboard's line should be read again
    restored = Signal(object)  # RestoreReport: the profile screen should list it

    def __init__(self, window: QMainWindow, runner: TaskRunner, profiles: Profiles) -> None:
        super().__init__(window)
        self.window = window
        self.runner = runner
        self.profiles = profiles
        self.session: Session | None = None
        self.running = False
        self.dialog: QObject | None = None
        # A finished backup is noted in the vault only when no other task is running: an
        # import or sync on a worker may be inside a transaction on the same connection.
        self._unrecorded: tuple[Session, BackupOutcome, bool] | None = None
        runner.busy_changed.connect(self._runner_busy)
        self.back_up_now_action = self._action(
            "&Back up now…", self.back_up_now, "Write an encrypted backup of this profile now"
        )
        self.restore_action = self._action(
            "&Restore from backup…", self.restore_clicked,
            "Make a profile from a backup (a new computer, a lost disk)",
        )  # fmt: skip
        self.settings_action = self._action(
            "Automatic &backups…", self.settings_clicked,
            "Choose the folder for automatic encrypted backups",
        )  # fmt: skip
        self.timer = QTimer(self)
        self.timer.setInterval(POLL_MS)
        self.timer.timeout.connect(self.poke)
        self.set_unlocked(False)

    def _action(self, text: str, slot: object, tip: str) -> QAction:
        action = QAction(text, self.window)
        action.setStatusTip(tip)
        action.setToolTip(tip)
        action.triggered.connect(slot)
        return action

    def set_unlocked(self, unlocked: bool) -> None:
        self.back_up_now_action.setEnabled(unlocked)
        self.settings_action.setEnabled(unlocked)

    # --- the session --------------------------------------------------------------------------

    def attach(self, session: Session) -> None:
        self.session = session
        self.set_unlocked(True)
        self.timer.start()
        self.poke()  # a change left pending by the last session

    def detach(self) -> None:
        """Before the session closes (locking): what is not backed up stays pending."""
        self.timer.stop()
        self.session = None
        self.set_unlocked(False)
        if self.dialog is not None:
            self.dialog.deleteLater()
            self.dialog = None

    # --- automatic runs -------------------------------------------------------------------

    def poke(self) -> None:
        """Something may have changed: back up in the background if one is due."""
        session = self.session
        if session is None or self.running or self.runner.busy:
            return  # asked again when the runner is idle
        try:
            if not session.auto_backup.due():
                return
            plan = session.auto_backup.plan()
        except USER_ERRORS as exc:  # never an interruption: the status bar says it
            self.window.statusBar().showMessage(f"No backup was made: {exc}", 30_000)
            return
        self._start(session, plan, quiet=True)

    def _start(self, session: Session, plan: BackupPlan, *, quiet: bool) -> None:
        self.running = True
        auto = session.auto_backup

        def run(_progress: object, _cancel: object) -> BackupOutcome:
            return auto.execute(plan)

        self.runner.run(
            run,
            title="Backing up",
            on_success=lambda outcome: self._finished(session, outcome, quiet),
            on_error=lambda _exc: self._crashed(),
            show_progress=not quiet,
            cancellable=False,
        )

    def _crashed(self) -> bool:
        self.running = False
        return False  # a bug: the runner shows it with its crash report

    def _finished(self, session: Session, outcome: BackupOutcome, quiet: bool) -> None:
        self.running = False
        self._unrecorded = (session, outcome, quiet)  # recorded once the runner is idle

    def _runner_busy(self, busy: bool) -> None:
        if busy:
            return
        if self._unrecorded is not None:
            session, outcome, quiet = self._unrecorded
            self._unrecorded = None
            self._record(session, outcome, quiet=quiet)
            return  # a failed run is retried by the timer, not at once
        self.poke()

    def _record(self, session: Session, outcome: BackupOutcome, *, quiet: bool) -> None:
        if session is not self.session or session.vault.closed:
            return  # locked meanwhile: the change stays pending for the next session
        session.auto_backup.record(outcome)
        self.statusChanged.emit()
        status_bar = self.window.statusBar()
        if outcome.ok:
            status_bar.showMessage(f"Backed up to {outcome.path}", 10_000)
        else:
            status_bar.showMessage(f"The backup failed: {outcome.error}", 30_000)
        if not quiet:
            icon = QMessageBox.Icon.Information if outcome.ok else QMessageBox.Icon.Warning
            text = (
                f"Encrypted backup written to {outcome.path}. It opens with this profile's "
                "passphrase or recovery key."
                if outcome.ok
                else f"The backup failed: {outcome.error}"
            )
            if outcome.elsewhere:
                text += f"\n\n{outcome.elsewhere}"
            style.show_message(self.window, icon, "Back up now", text)

    # --- menu actions ---------------------------------------------------------------------

    def back_up_now(self) -> None:
        session = self.session
        if session is None or self.running:
            return
        folder: Path | None = session.auto_backup.folder
        if folder is None:
            folder = choose_folder(self.window, "Folder for the backup")
            if folder is None:
                return
        try:
            plan = session.auto_backup.plan(folder)
        except USER_ERRORS as exc:
            self.runner.present_error("Back up now", exc)
            return
        self._start(session, plan, quiet=False)

    def settings_clicked(self) -> None:
        if self.session is None:
            return
        dialog = AutoBackupDialog(self.session.auto_backup, self.window)
        dialog.accepted.connect(self._settings_saved)
        self._open(dialog)

    def _settings_saved(self) -> None:
        self.statusChanged.emit()
        session = self.session
        if session is None or self.running or session.auto_backup.folder is None:
            return
        if self.runner.busy:
            return  # an import or sync is running: `poke` backs up when it ends
        # Turned on (or moved): the first backup in that folder now, not after a change.
        self._start(session, session.auto_backup.plan(), quiet=True)

    def restore_clicked(self) -> None:
        dialog = RestoreDialog(self.profiles, self.runner, self.window)
        dialog.restored.connect(self._restored)
        self._open(dialog)

    def _restored(self, report: RestoreReport) -> None:
        self.restored.emit(report)
        style.show_message(
            self.window,
            QMessageBox.Icon.Information,
            "Restore from backup",
            f"Restored the profile {report.profile!r}. Open it with the passphrase or "
            "recovery key the backup was made with.\n\nUse it on this computer only: two "
            "computers changing one profile is not supported.",
        )

    def _open(self, dialog: QObject) -> None:
        self.dialog = dialog
        dialog.open()  # type: ignore[attr-defined]
