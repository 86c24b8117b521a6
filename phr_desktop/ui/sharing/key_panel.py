"""A share's key as the clinician needs it: large grouped text, a QR code, the fingerprint,
and the printable hand-out.

Shown after a share is made and when a held-back key is revealed. `clear()` empties every
widget and the clipboard (if it still holds the key), so closing or locking leaves no copy.
"""

from __future__ import annotations

import re
from datetime import date
from pathlib import Path

import segno
from PySide6.QtCore import Qt
from PySide6.QtGui import QFontDatabase, QGuiApplication, QImage, QPixmap
from PySide6.QtWidgets import (
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSizePolicy,
    QVBoxLayout,
    QWidget,
)

from phr_desktop.services.sharing import CreatedShare, write_handout
from phr_desktop.services.tasks import CancelToken, ProgressCallback
from phr_desktop.ui import style
from phr_desktop.ui.workers import TaskRunner

QR_MODULE_PIXELS = 5  # per QR module at 1x: large enough for a phone held at arm's length
HONEST_NOTE = (
    "Anyone with this file and key can open it until it expires in phr-desktop's viewer; a file "
    "whose key was given out cannot be recalled."
)
PASSCODE_REMINDER = (
    "This share also needs its passcode. Tell the passcode separately, e.g. by phone, never "
    "with the file or the key."
)


def key_lines(key: str, groups_per_line: int = 5) -> str:
    """The key in two lines of five groups: a whole line fits the eye and the panel."""
    groups = key.split("-")
    return "\n".join(
        "-".join(groups[i : i + groups_per_line]) for i in range(0, len(groups), groups_per_line)
    )


def qr_image(text: str, module_pixels: int = QR_MODULE_PIXELS) -> QImage:
    """A black-on-white QR code of `text` with the standard 4-module quiet zone."""
    code = segno.make(text, error="m", micro=False)
    rows = [list(row) for row in code.matrix_iter(scale=1, border=4)]
    size = len(rows)
    image = QImage(size, size, QImage.Format.Format_RGB32)
    image.fill(Qt.GlobalColor.white)
    black = 0xFF000000
    for y, row in enumerate(rows):
        for x, dark in enumerate(row):
            if dark:
                image.setPixel(x, y, black)
    scaled = size * module_pixels
    return image.scaled(scaled, scaled, mode=Qt.TransformationMode.FastTransformation)


def suggested_name(label: str, day: date, suffix: str, prefix: str) -> str:
    """`share-dr-rivera-2026-11-25.phrshare`: who and when, safe on every file system."""
    slug = re.sub(r"[^a-z0-9]+", "-", label.lower()).strip("-")[:40].strip("-")
    return f"{prefix}-{slug or 'clinician'}-{day.isoformat()}{suffix}"


def choose_handout_path(parent: QWidget, suggested: Path) -> Path | None:
    """Ask where to write the printable hand-out (tests replace this)."""
    chosen, _ = QFileDialog.getSaveFileName(
        parent, "Save the printable hand-out", str(suggested), "PDF (*.pdf)"
    )
    return Path(chosen) if chosen else None


class KeyPanel(QWidget):
    def __init__(self, runner: TaskRunner, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.runner = runner
        self.created: CreatedShare | None = None
        self.recipient = ""
        self.patient_name = ""
        self.setAccessibleName("Share key")
        self.summary = QLabel(self)
        self.summary.setWordWrap(True)
        self.summary.setTextFormat(Qt.TextFormat.PlainText)
        self.summary.setAccessibleName("Share summary")

        self.key_label = QLabel(self)
        font = QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont)
        font.setPointSizeF(max(font.pointSizeF(), 10) * 1.6)
        font.setBold(True)
        self.key_label.setFont(font)
        self.key_label.setWordWrap(True)
        self.key_label.setTextFormat(Qt.TextFormat.PlainText)
        self.key_label.setTextInteractionFlags(
            Qt.TextInteractionFlag.TextSelectableByMouse
            | Qt.TextInteractionFlag.TextSelectableByKeyboard
        )
        self.key_label.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self.key_label.setAccessibleName("Key for the clinician")
        self.key_label.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Preferred)

        self.qr_label = QLabel(self)
        self.qr_label.setAccessibleName("Key as a QR code")
        self.qr_label.setAlignment(Qt.AlignmentFlag.AlignCenter)

        self.copy_button = QPushButton("&Copy key", self)
        self.copy_button.setToolTip("Copy the key; it is cleared from the clipboard on close")
        self.copy_button.clicked.connect(self.copy_key)
        self.handout_button = QPushButton("Save printable &hand-out (PDF)…", self)
        self.handout_button.setToolTip(
            "One page with the key as QR code and text, how to open the file, and the "
            "fingerprint that shows the share came from you"
        )
        self.handout_button.clicked.connect(self.handout_clicked)

        fixed = QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont)
        self.fingerprint = QLabel(self)
        self.fingerprint.setFont(fixed)
        self.fingerprint.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.fingerprint.setAccessibleName("Signing key fingerprint")
        self.expiry = QLabel(self)
        self.expiry.setAccessibleName("Valid until")
        self.file_label = QLabel(self)
        self.file_label.setAccessibleName("Share file")
        self.file_label.setWordWrap(True)
        self.file_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)

        self.passcode_note = QLabel(PASSCODE_REMINDER, self)
        self.passcode_note.setWordWrap(True)
        self.passcode_note.setFont(style.scaled_font(self.passcode_note, 1.0, bold=True))
        self.honest_note = style.muted(HONEST_NOTE, self)
        self.status = QLabel(self)
        self.status.setAccessibleName("Status")
        self.status.setWordWrap(True)

        facts = QFormLayout()
        facts.addRow("Valid until:", self.expiry)
        facts.addRow("File:", self.file_label)
        facts.addRow("Signed by key:", self.fingerprint)
        left = QVBoxLayout()
        left.addWidget(self.summary)
        left.addWidget(QLabel("Key for the clinician (give it separately from the file):", self))
        left.addWidget(self.key_label)
        buttons = QHBoxLayout()
        buttons.addWidget(self.copy_button)
        buttons.addWidget(self.handout_button)
        buttons.addStretch(1)
        left.addLayout(buttons)
        left.addLayout(facts)
        left.addWidget(self.passcode_note)
        left.addWidget(self.honest_note)
        left.addWidget(self.status)
        left.addStretch(1)
        row = QHBoxLayout(self)
        row.setContentsMargins(0, 0, 0, 0)
        row.addLayout(left, 1)
        row.addWidget(self.qr_label, 0, Qt.AlignmentFlag.AlignTop)

    @property
    def key(self) -> str:
        return self.created.key if self.created is not None else ""

    def show_share(self, created: CreatedShare, recipient: str, patient_name: str) -> None:
        """Show a share whose key is handed out (`created.key` set)."""
        self.created, self.recipient, self.patient_name = created, recipient, patient_name
        passcode = " and the passcode" if created.passcode else ""
        files = f" and {created.attachment_count:,} file(s)" if created.attachment_count else ""
        self.summary.setText(
            f"{created.record_count:,} record(s){files} for {recipient}. To open them they "
            f"need the file, this key{passcode}, and "
            + ("phr-desktop or, for the .html, any browser." if created.html else "phr-desktop.")
        )
        self.key_label.setText(key_lines(created.key_display or created.key))
        pixmap = QPixmap.fromImage(qr_image(created.key))
        self.qr_label.setPixmap(pixmap)
        self.qr_label.setFixedSize(pixmap.size())
        self.expiry.setText(f"{created.expires_at.astimezone():%Y-%m-%d %H:%M} (your time)")
        self.file_label.setText(
            str(created.file) + (f"\n{created.html} (opens in any browser)" if created.html else "")
        )
        self.fingerprint.setText(created.fingerprint_display)
        self.passcode_note.setVisible(created.passcode)
        self.status.clear()
        for button in (self.copy_button, self.handout_button):
            button.setEnabled(True)

    def copy_key(self) -> None:
        if self.key:
            QGuiApplication.clipboard().setText(self.key)
            self.status.setText("Key copied. It is cleared from the clipboard when you close.")

    def handout_clicked(self) -> None:
        created = self.created
        if created is None:
            return
        folder = created.file.parent if created.file.is_absolute() else Path.home()
        suggested = folder / suggested_name(self.recipient, date.today(), ".pdf", "handout")
        output = choose_handout_path(self, suggested)
        if output is None:
            return
        recipient, name = self.recipient, self.patient_name

        def run(_progress: ProgressCallback, _cancel: CancelToken) -> Path:
            return write_handout(created, output, label=recipient, patient_name=name)

        self.runner.run(
            run, title="Saving the hand-out", on_success=self._handout_saved, cancellable=False
        )

    def _handout_saved(self, path: Path) -> None:
        if self.created is not None:
            self.status.setText(
                f"Hand-out saved to {path}. Print it and give it to {self.recipient}; send or "
                "hand over the .phrshare file separately."
            )

    def clear(self) -> None:
        """Forget the key: widgets emptied, and the clipboard too if it still holds the key."""
        key = self.key
        if key:
            clipboard = QGuiApplication.clipboard()
            if clipboard.text().strip() == key:
                clipboard.clear()
        self.created = None
        self.recipient = self.patient_name = ""
        for label in (
            self.summary, self.key_label, self.expiry, self.file_label, self.fingerprint,
            self.status,
        ):  # fmt: skip
            label.clear()
        self.qr_label.clear()
        for button in (self.copy_button, self.handout_button):
            button.setEnabled(False)
