"""Settings → Automatic backups, and File → Restore from backup…."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QSpinBox,
    QWidget,
)

from phr_desktop.services.auto_backup import DEFAULT_KEEP, AutoBackup
from phr_desktop.services.backup_status import TWO_COMPUTERS
from phr_desktop.services.errors import USER_ERRORS
from phr_desktop.services.profiles import Profiles
from phr_desktop.services.restore import RestoreReport, restore_backup
from phr_desktop.ui import style
from phr_desktop.ui.backups.status import status_text
from phr_desktop.ui.workers import TaskRunner

MAX_KEEP = 100


def choose_folder(parent: QWidget, title: str) -> Path | None:
    """Ask for a folder (tests replace this)."""
    chosen = QFileDialog.getExistingDirectory(parent, title)
    return Path(chosen) if chosen else None


def _folder_row(parent: QWidget, field: QLineEdit, title: str) -> QHBoxLayout:
    row = QHBoxLayout()
    row.addWidget(field, 1)
    browse = QPushButton("Choose…", parent)
    browse.setAccessibleName(f"{title}: choose")

    def pick() -> None:
        folder = choose_folder(parent, title)
        if folder is not None:
            field.setText(str(folder))

    browse.clicked.connect(pick)
    row.addWidget(browse)
    return row


class AutoBackupDialog(QDialog):
    """Where backups go (chosen once), how many are kept, and how the last one went."""

    def __init__(self, auto: AutoBackup, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.auto = auto
        self.setWindowTitle("Automatic backups")
        layout = QFormLayout(self)
        intro = style.muted(
            "After every import, sync or change, an encrypted copy of this profile is written "
            "to the folder you choose (at most every few minutes): an external drive, or a "
            "folder your own cloud client syncs. It opens only with your passphrase or "
            "recovery key, so the cloud sees nothing readable.",
            self,
        )
        layout.addRow(intro)
        self.enabled = QCheckBox("Back up automatically", self)
        self.enabled.setChecked(auto.folder is not None)
        layout.addRow(self.enabled)
        self.folder = QLineEdit(str(auto.folder) if auto.folder else "", self)
        self.folder.setAccessibleName("Backup folder")
        layout.addRow("Folder", _folder_row(self, self.folder, "Backup folder"))
        self.keep = QSpinBox(self)
        self.keep.setRange(1, MAX_KEEP)
        self.keep.setValue(auto.keep or DEFAULT_KEEP)
        self.keep.setAccessibleName("Backups to keep")
        layout.addRow("Keep the newest", self.keep)
        text, _warning = status_text(auto.status())
        self.status = QLabel(text, self)
        self.status.setWordWrap(True)
        layout.addRow(self.status)
        layout.addRow(style.muted(TWO_COMPUTERS, self))
        self.error = QLabel(self)
        self.error.setWordWrap(True)
        self.error.setAccessibleName("Problem")
        layout.addRow(self.error)
        buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel, self
        )
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        layout.addRow(buttons)

    def accept(self) -> None:
        try:
            if not self.enabled.isChecked():
                self.auto.turn_off()
            elif not self.folder.text().strip():
                self.error.setText("Choose the folder for the backups.")
                return
            else:
                self.auto.turn_on(Path(self.folder.text().strip()), keep=self.keep.value())
        except USER_ERRORS as exc:
            self.error.setText(str(exc))
            return
        super().accept()


class RestoreDialog(QDialog):
    """A new profile from a backup: the newest in a folder, or one backup folder."""

    restored = Signal(object)  # RestoreReport

    def __init__(
        self, profiles: Profiles, runner: TaskRunner, parent: QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self.profiles = profiles
        self.runner = runner
        self.setWindowTitle("Restore from backup")
        layout = QFormLayout(self)
        layout.addRow(
            style.muted(
                "Choose your backup folder (the newest backup in it is restored) or one "
                "backup in it. It becomes a new profile; no existing profile is replaced. "
                "It opens with the passphrase or recovery key the backup was made with.",
                self,
            )
        )
        self.source = QLineEdit(self)
        self.source.setAccessibleName("Backup folder")
        layout.addRow("Backup", _folder_row(self, self.source, "Backup folder"))
        self.name = QLineEdit(self)
        self.name.setPlaceholderText("the backup's own name")
        self.name.setAccessibleName("New profile name")
        layout.addRow("Profile name", self.name)
        self.use_recovery = QCheckBox("Use the recovery key instead of the passphrase", self)
        layout.addRow(self.use_recovery)
        self.secret = QLineEdit(self)
        self.secret.setEchoMode(QLineEdit.EchoMode.Password)
        self.secret.setAccessibleName("Passphrase or recovery key")
        layout.addRow("Passphrase", self.secret)
        layout.addRow(style.muted(TWO_COMPUTERS, self))
        self.error = QLabel(self)
        self.error.setWordWrap(True)
        self.error.setAccessibleName("Problem")
        layout.addRow(self.error)
        self.buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel, self
        )
        ok = self.buttons.button(QDialogButtonBox.StandardButton.Ok)
        ok.setText("Restore")
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)
        layout.addRow(self.buttons)

    def accept(self) -> None:
        source, secret = self.source.text().strip(), self.secret.text()
        if not source:
            self.error.setText("Choose the backup folder.")
            return
        if not secret:
            self.error.setText("Type the passphrase (or the recovery key) of the backup.")
            return
        name = self.name.text().strip() or None
        how = {"recovery_key": secret} if self.use_recovery.isChecked() else {"passphrase": secret}
        self.secret.clear()
        self.error.clear()
        self.buttons.setEnabled(False)

        def run(_progress: object, _cancel: object) -> RestoreReport:
            return restore_backup(self.profiles, Path(source), name=name, **how)

        self.runner.run(
            run,
            title="Restoring",
            on_success=self._done,
            on_error=self._failed,
            cancellable=False,
        )

    def _done(self, report: RestoreReport) -> None:
        self.buttons.setEnabled(True)
        self.restored.emit(report)
        super().accept()

    def _failed(self, exc: BaseException) -> bool:
        self.buttons.setEnabled(True)
        if isinstance(exc, USER_ERRORS):
            self.error.setText(str(exc))
            return True
        return False
