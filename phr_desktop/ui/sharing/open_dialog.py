"""File → Open share…: choose a `.phrshare` file, type its key (and passcode if it has one), open
it in a worker, then show it in a read-only window. A refusal shows its reason in the dialog and
nothing of the share."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import QObject, Qt, Signal
from PySide6.QtGui import QAction, QFontDatabase, QKeySequence
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QFormLayout,
    QLabel,
    QLineEdit,
    QMessageBox,
    QVBoxLayout,
    QWidget,
)

from phr_desktop.services.errors import ServiceError, ShareError
from phr_desktop.services.tasks import CancelToken, ProgressCallback
from phr_desktop.ui import style
from phr_desktop.ui.readable_colours import mark_flag
from phr_desktop.ui.workers import TaskRunner

if TYPE_CHECKING:  # the share reader (decryption, JOSE) loads when a share is opened
    from phr_desktop.services.share_viewer import ShareSession
    from phr_desktop.ui.sharing.window import ShareWindow

SHARE_FILTER = "Shared records (*.phrshare);;All files (*)"
# Ctrl+O and Ctrl+Shift+O import files and folders; this works on the profile screen too.
OPEN_SHARE_SHORTCUT = "Ctrl+Alt+O"


def choose_share_path(parent: QWidget) -> Path | None:
    """Ask for a share file (tests replace this)."""
    chosen, _ = QFileDialog.getOpenFileName(parent, "Open a shared record", "", SHARE_FILTER)
    return Path(chosen) if chosen else None


class ShareKeyDialog(QDialog):
    """The key (as printed, in groups, or pasted plain) and, when the file has one, the
    passcode. Stays open on a refusal so a mistyped key can be corrected."""

    # Both name their dialog, so the opener listens with bound methods: a closure over the
    # dialog on the dialog's own signals crashes PySide when it deletes itself (WA_DeleteOnClose).
    submitted = Signal(object)  # this dialog: Open pressed, with a key (maybe empty) typed
    ended = Signal(object)  # this dialog: finished (the share opened, or cancelled, or closed)

    def __init__(self, path: Path, needs_passcode: bool, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.path = path
        self.setWindowTitle("Open a shared record")
        self.setAccessibleName("Open a shared record")
        intro = style.muted(
            f"{path.name} is encrypted. Type or paste the key the patient gave you (from the "
            "printed hand-out or its QR code): 10 groups of 5 letters and digits. Capitals, "
            "spaces and dashes do not matter, and a typo is caught and its group named.",
            self,
        )
        self.key_edit = QLineEdit(self)
        self.key_edit.setAccessibleName("Key")
        self.key_edit.setPlaceholderText("XXXXX-XXXXX-XXXXX-… (10 groups of 5)")
        self.key_edit.setFont(QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont))
        self.key_edit.setMinimumWidth(self.key_edit.fontMetrics().averageCharWidth() * 56)
        self.passcode_edit = QLineEdit(self)
        self.passcode_edit.setAccessibleName("Passcode")
        self.passcode_edit.setPlaceholderText("told to you separately by the patient")
        self.error = QLabel(self)
        self.error.setAccessibleName("Why the share did not open")
        self.error.setWordWrap(True)
        self.error.setTextFormat(Qt.TextFormat.PlainText)
        mark_flag(self.error)
        self.error.hide()
        form = QFormLayout()
        form.addRow("&Key:", self.key_edit)
        form.addRow("&Passcode:", self.passcode_edit)
        form.setRowVisible(self.passcode_edit, needs_passcode)
        self.buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Open | QDialogButtonBox.StandardButton.Cancel, self
        )
        self.open_button = self.buttons.button(QDialogButtonBox.StandardButton.Open)
        self.buttons.accepted.connect(self._announce_submitted)
        self.buttons.rejected.connect(self.reject)
        self.finished.connect(self._announce_ended)
        layout = QVBoxLayout(self)
        layout.addWidget(intro)
        layout.addLayout(form)
        layout.addWidget(self.error)
        layout.addWidget(self.buttons)
        self.needs_passcode = needs_passcode

    def _announce_submitted(self) -> None:
        self.submitted.emit(self)

    def _announce_ended(self, _result: int) -> None:
        self.ended.emit(self)

    def key(self) -> str:
        return self.key_edit.text()

    def passcode(self) -> str | None:
        return self.passcode_edit.text() or None

    def show_error(self, text: str) -> None:
        self.error.setText(text)
        self.error.show()
        self.adjustSize()  # grow so that the whole reason shows, not a clipped line
        self.set_busy(False)

    def set_busy(self, busy: bool) -> None:
        for widget in (self.key_edit, self.passcode_edit, self.open_button):
            widget.setEnabled(not busy)


class ShareOpener(QObject):
    """Owns File → Open share… and the share windows it opens (each closes on its own)."""

    def __init__(self, parent_widget: QWidget, runner: TaskRunner) -> None:
        super().__init__(parent_widget)
        self.parent_widget = parent_widget
        self.runner = runner
        self.dialog: ShareKeyDialog | None = None
        self.windows: list[ShareWindow] = []
        self.action = QAction("Open &share…", parent_widget)
        self.action.setShortcut(QKeySequence(OPEN_SHARE_SHORTCUT))
        tip = "View a .phrshare file a patient gave you: read-only, with its key"
        self.action.setStatusTip(tip)
        self.action.setToolTip(tip)
        self.action.triggered.connect(self.choose_and_open)

    def choose_and_open(self) -> None:
        path = choose_share_path(self.parent_widget)
        if path is not None:
            self.open_file(path)

    def open_file(self, path: Path) -> ShareKeyDialog | None:
        """Ask for the key of `path` (from File → Open share… or `phr-desktop FILE`)."""
        if self.dialog is not None:
            self.dialog.close()
        if not path.is_file():
            style.show_message(
                self.parent_widget,
                QMessageBox.Icon.Warning,
                "Open a shared record",
                f"There is no file {path}.",
            )
            return None
        from phr_desktop.services.share_viewer import share_needs_passcode

        dialog = ShareKeyDialog(path, share_needs_passcode(path), self.parent_widget)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.submitted.connect(self._submit)
        dialog.ended.connect(self._forget)
        self.dialog = dialog
        dialog.open()
        return dialog

    def _forget(self, dialog: ShareKeyDialog) -> None:
        if self.dialog is dialog:
            self.dialog = None

    def _submit(self, dialog: ShareKeyDialog) -> None:
        path, key, passcode = dialog.path, dialog.key(), dialog.passcode()
        if not key.strip():
            dialog.show_error("Type the key the patient gave you.")
            return
        dialog.set_busy(True)

        from phr_desktop.services.share_viewer import open_share_session

        def run(progress: ProgressCallback, cancel: CancelToken) -> ShareSession:
            return open_share_session(
                path, key, passcode=passcode, progress=progress, cancel=cancel
            )

        def failed(exc: BaseException) -> bool:
            if self.dialog is not dialog:
                return False  # the dialog was closed meanwhile: the runner says it
            if isinstance(exc, ShareError | ServiceError):
                dialog.show_error(str(exc))
                return True
            dialog.set_busy(False)
            return False  # a bug or a cancel: the runner says so

        self.runner.run(
            run,
            title="Opening the share",
            on_success=lambda session: self._opened(dialog, session),
            on_error=failed,
        )

    def _opened(self, dialog: ShareKeyDialog, session: ShareSession) -> None:
        if self.dialog is not dialog:  # cancelled while it was opening: show nothing
            session.close()
            return
        dialog.accept()
        from phr_desktop.ui.sharing.window import ShareWindow

        window = ShareWindow(session, self.parent_widget, synchronous=self.runner.synchronous)
        window.closed.connect(self._closed)
        self.windows.append(window)
        window.show()
        window.raise_()
        window.activateWindow()

    def _closed(self, window: ShareWindow) -> None:
        if window in self.windows:
            self.windows.remove(window)

    def close_all(self) -> None:
        for window in list(self.windows):
            window.close()
