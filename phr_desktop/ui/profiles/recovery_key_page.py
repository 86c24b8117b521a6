"""The profile screen's recovery-key page: the new profile's key, shown once, to print or save."""

from __future__ import annotations

import os
from datetime import date
from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtGui import QFont, QFontDatabase, QTextDocument
from PySide6.QtWidgets import (
    QCheckBox,
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from phr_desktop.services.file_names import file_name_part
from phr_desktop.services.session import Session
from phr_desktop.ui import style
from phr_desktop.ui.profiles.base import ProfileScreenBase


def choose_save_path(parent: QWidget, title: str, suggested: str) -> str | None:
    """Ask where to save a text file (tests replace this)."""
    path, _ = QFileDialog.getSaveFileName(parent, title, suggested, "Text files (*.txt)")
    return path or None


def write_private_text(path: Path, text: str) -> None:
    """Owner-only file: the recovery key unlocks the whole record."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as out:
        out.write(text)


def recovery_key_text(profile: str, key: str) -> str:
    return (
        f"phr-desktop recovery key\n\nProfile: {profile}\nCreated: {date.today().isoformat()}\n\n"
        f"    {key}\n\n"
        "This key unlocks the profile if the passphrase is forgotten. Anyone who has it and the "
        "computer can read the record: keep it somewhere safe, apart from the computer.\n"
    )


class RecoveryKeyPage(ProfileScreenBase):
    """The recovery-key page's widgets and what its buttons do (a part of `ProfileScreen`)."""

    def _build_recovery_page(self) -> None:
        page = QWidget(self)
        layout = QVBoxLayout(page)
        layout.addWidget(style.heading("Your recovery key", page, 1.6))
        layout.addWidget(
            style.muted(
                "This key is shown once and is not stored anywhere. Print it or save it and keep "
                "it apart from this computer: it opens the profile if the passphrase is lost.",
                page,
            )
        )
        self.key_label = QLabel(page)
        mono = QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont)
        mono.setPointSizeF(max(mono.pointSizeF(), self.font().pointSizeF()) * 1.3)
        mono.setWeight(QFont.Weight.DemiBold)
        self.key_label.setFont(mono)
        self.key_label.setWordWrap(True)
        self.key_label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.key_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.key_label.setAccessibleName("Recovery key")
        self.key_label.setMargin(self.fontMetrics().height())
        self.key_label.setFrameShape(QLabel.Shape.StyledPanel)
        layout.addWidget(self.key_label)
        actions = QHBoxLayout()
        self.print_button = QPushButton("&Print…", page)
        self.print_button.clicked.connect(self.print_clicked)
        actions.addWidget(self.print_button)
        self.save_button = QPushButton("&Save as text file…", page)
        self.save_button.clicked.connect(self.save_clicked)
        actions.addWidget(self.save_button)
        actions.addStretch(1)
        layout.addLayout(actions)
        self.recovery_status = style.muted("", page)
        self.recovery_status.setAccessibleName("Recovery key status")
        layout.addWidget(self.recovery_status)
        self.keyring_status = QLabel(page)
        self.keyring_status.setWordWrap(True)
        self.keyring_status.setAccessibleName("Remember on this device")
        self.keyring_status.setTextFormat(Qt.TextFormat.PlainText)
        layout.addWidget(self.keyring_status)
        self.kept_key = QCheckBox("I have printed or saved the recovery key somewhere safe", page)
        layout.addWidget(self.kept_key)
        row = QHBoxLayout()
        row.addStretch(1)
        self.continue_button = QPushButton("C&ontinue", page)
        self.continue_button.setEnabled(False)
        self.kept_key.toggled.connect(self.continue_button.setEnabled)
        self.continue_button.clicked.connect(self.continue_clicked)
        row.addWidget(self.continue_button)
        layout.addLayout(row)
        self.recovery_page = page
        self.stack.addWidget(page)

    def _show_recovery(self, created: tuple[Session, str, str]) -> None:
        session, recovery_key, keyring_note = created
        self._set_busy(False)
        self.new_passphrase.clear()
        self.confirm_passphrase.clear()
        self.create_error.clear()
        self._pending = session
        self.key_label.setText(recovery_key)
        self.recovery_status.clear()
        self.keyring_status.setText(keyring_note)
        self.keyring_status.setVisible(bool(keyring_note))
        self.kept_key.setChecked(False)
        self.stack.setCurrentWidget(self.recovery_page)
        self.print_button.setFocus()

    def recovery_text(self) -> str:
        name = self._pending.profile_name if self._pending else ""
        return recovery_key_text(name, self.key_label.text())

    def save_clicked(self) -> None:
        name = self._pending.profile_name if self._pending else "profile"
        suggested = str(Path.home() / f"phr-desktop recovery key - {file_name_part(name)}.txt")
        path = choose_save_path(self, "Save the recovery key", suggested)
        if not path:
            return
        try:
            write_private_text(Path(path), self.recovery_text())
        except OSError as exc:
            self.recovery_status.setText(f"Could not save it: {exc.strerror or exc}.")
            return
        self.recovery_status.setText(f"Saved to {path}. Move it off this computer if you can.")

    def print_clicked(self) -> None:
        from PySide6.QtPrintSupport import QPrintDialog, QPrinter

        printer = QPrinter(QPrinter.PrinterMode.HighResolution)
        dialog = QPrintDialog(printer, self)
        dialog.setWindowTitle("Print the recovery key")
        if dialog.exec() == QPrintDialog.DialogCode.Accepted:
            self.print_to(printer)

    def print_to(self, printer: object) -> None:
        document = QTextDocument(self)
        key = self.key_label.text()
        name = self._pending.profile_name if self._pending else ""
        document.setHtml(
            "<h2>phr-desktop recovery key</h2>"
            f"<p>Profile: {_escape(name)}<br>Created: {date.today().isoformat()}</p>"
            f"<p style='font-family: monospace; font-size: 16pt'><b>{_escape(key)}</b></p>"
            "<p>This key unlocks the profile if the passphrase is forgotten. Anyone who has it "
            "and the computer can read the record: keep it somewhere safe.</p>"
        )
        document.print_(printer)  # type: ignore[arg-type]
        self.recovery_status.setText("Sent to the printer.")

    def continue_clicked(self) -> None:
        session, self._pending = self._pending, None
        self.key_label.clear()
        if session is not None:
            self.unlocked.emit(session)

    def discard_pending(self) -> None:
        """Close a just-created session that was never continued (window closing)."""
        if self._pending is not None:
            self._pending.close()
            self._pending = None


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
