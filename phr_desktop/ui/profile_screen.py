"""The first screen: choose a profile and unlock it, or create one and keep its recovery key.

Unlocking and creating run the KDF (about half a second by design) in a worker, so the window
stays responsive. `unlocked(session)` is emitted with the open `services.session.Session`.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QAction, QFont, QFontDatabase, QTextDocument
from PySide6.QtWidgets import (
    QCheckBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QProgressBar,
    QPushButton,
    QStackedWidget,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from phr_desktop.domain.person_match import PersonName
from phr_desktop.services.errors import USER_ERRORS, KeyringRefused
from phr_desktop.services.file_names import file_name_part
from phr_desktop.services.profiles import Profiles
from phr_desktop.services.session import Session
from phr_desktop.ui import style
from phr_desktop.ui.workers import TaskRunner

# zxcvbn (optional: a far better estimate than counting characters) is loaded on the first
# passphrase typed, not at start: importing it compiles ~0.1 s of dictionaries and patterns
# that opening an existing profile never needs.
_NOT_LOADED = object()
_zxcvbn: Any = _NOT_LOADED


def _strength_estimator() -> Any:
    """zxcvbn's estimator, imported on first use; None when the package is absent."""
    global _zxcvbn
    if _zxcvbn is _NOT_LOADED:
        try:
            from zxcvbn import zxcvbn as estimator
        except ImportError:  # pragma: no cover - exercised when the package is absent
            estimator = None
        _zxcvbn = estimator
    return _zxcvbn


MIN_SCORE = 3  # zxcvbn's "safely unguessable"; with Argon2id at ~0.5 s a guess costs dearly
_SCORE_LABELS = ("Very weak", "Weak", "Fair", "Strong", "Very strong")


@dataclass(frozen=True)
class Strength:
    score: int  # 0..4
    feedback: str

    @property
    def label(self) -> str:
        return _SCORE_LABELS[self.score]

    @property
    def acceptable(self) -> bool:
        return self.score >= MIN_SCORE


def passphrase_strength(passphrase: str, user_inputs: tuple[str, ...] = ()) -> Strength:
    if not passphrase:
        return Strength(0, "Choose a passphrase: four or more unrelated words work well.")
    estimator = _strength_estimator()
    if estimator is not None:
        result = estimator(passphrase[:100], user_inputs=list(user_inputs))
        feedback = result["feedback"]
        parts = [feedback.get("warning") or "", *feedback.get("suggestions", [])]
        text = " ".join(p for p in parts if p)
        if not text and result["score"] >= MIN_SCORE:
            slow = result["crack_times_display"]["offline_slow_hashing_1e4_per_second"]
            text = f"Would take {slow} to guess offline."
        return Strength(int(result["score"]), text)
    return _entropy_strength(passphrase)


def _entropy_strength(passphrase: str) -> Strength:
    """A rough estimate when zxcvbn is missing: character-set entropy, repeats discounted."""
    pools = [
        (any(c.islower() for c in passphrase), 26),
        (any(c.isupper() for c in passphrase), 26),
        (any(c.isdigit() for c in passphrase), 10),
        (any(not c.isalnum() for c in passphrase), 33),
    ]
    pool = sum(size for present, size in pools if present) or 1
    distinct = len(set(passphrase))
    bits = min(len(passphrase), distinct * 2) * math.log2(pool)
    score = 0 if bits < 28 else 1 if bits < 36 else 2 if bits < 50 else 3 if bits < 70 else 4
    hint = "" if score >= MIN_SCORE else "Make it longer: four or more unrelated words work well."
    return Strength(score, hint)


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


class ProfileScreen(QWidget):
    unlocked = Signal(object)  # services.session.Session

    def __init__(self, profiles: Profiles, runner: TaskRunner, parent: QWidget | None = None):
        super().__init__(parent)
        self.profiles = profiles
        self.runner = runner
        self.setAccessibleName("Profiles")
        self.stack = QStackedWidget(self)
        outer = QVBoxLayout(self)
        outer.addStretch(1)
        row = QHBoxLayout()
        row.addStretch(1)
        self.stack.setMaximumWidth(self.fontMetrics().averageCharWidth() * 80)
        row.addWidget(self.stack, 4)
        row.addStretch(1)
        outer.addLayout(row)
        self.footer = QHBoxLayout()  # what needs no profile: a clinician opening a share
        outer.addLayout(self.footer)
        outer.addStretch(2)
        self._build_unlock_page()
        self._build_create_page()
        self._build_recovery_page()
        self._pending: Session | None = None
        self.reset()

    def add_footer_action(self, caption: str, action: QAction) -> QToolButton:
        """A button under the pages, on every page, for something that needs no profile."""
        button = QToolButton(self)
        button.setDefaultAction(action)
        button.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextOnly)
        self.footer.addStretch(1)
        self.footer.addWidget(style.muted(caption, self, wrap=False))
        self.footer.addWidget(button)
        self.footer.addStretch(1)
        return button

    # --- pages --------------------------------------------------------------------------------

    def _build_unlock_page(self) -> None:
        page = QWidget(self)
        layout = QVBoxLayout(page)
        layout.addWidget(style.heading("Open a profile", page, 1.6))
        layout.addWidget(
            style.muted("Each profile is one person's record, encrypted on this computer.", page)
        )
        self.profile_list = QListWidget(page)
        self.profile_list.setAccessibleName("Profiles")
        self.profile_list.setMaximumHeight(self.fontMetrics().height() * 8)
        self.profile_list.itemActivated.connect(self._focus_passphrase)
        layout.addWidget(self.profile_list)
        form = QFormLayout()
        self.passphrase = QLineEdit(page)
        self.passphrase.setEchoMode(QLineEdit.EchoMode.Password)
        self.passphrase.setAccessibleName("Passphrase")
        self.passphrase.returnPressed.connect(self.unlock_clicked)
        form.addRow("&Passphrase", self.passphrase)
        self.recovery_key = QLineEdit(page)
        self.recovery_key.setAccessibleName("Recovery key")
        self.recovery_key.setPlaceholderText("XXXXX-XXXXX-… (8 groups)")
        self.recovery_key.returnPressed.connect(self.unlock_clicked)
        self.recovery_label = QLabel("&Recovery key", page)
        self.recovery_label.setBuddy(self.recovery_key)
        form.addRow(self.recovery_label, self.recovery_key)
        layout.addLayout(form)
        self.use_recovery = QCheckBox("I forgot the passphrase: use my recovery key", page)
        self.use_recovery.toggled.connect(self._recovery_mode)
        layout.addWidget(self.use_recovery)
        self.unlock_error = QLabel(page)
        self.unlock_error.setWordWrap(True)
        self.unlock_error.setAccessibleName("Unlock message")
        self.unlock_error.setTextFormat(Qt.TextFormat.PlainText)
        layout.addWidget(self.unlock_error)
        buttons = QHBoxLayout()
        self.new_button = QPushButton("&New profile…", page)
        self.new_button.clicked.connect(lambda: self.show_create(first=False))
        buttons.addWidget(self.new_button)
        buttons.addStretch(1)
        self.remembered_button = QPushButton("Use key &remembered on this device", page)
        self.remembered_button.setToolTip("Unlock with the copy kept in this computer's keyring")
        self.remembered_button.clicked.connect(self.unlock_remembered_clicked)
        buttons.addWidget(self.remembered_button)
        self.unlock_button = QPushButton("&Unlock", page)
        self.unlock_button.setDefault(True)
        self.unlock_button.clicked.connect(self.unlock_clicked)
        buttons.addWidget(self.unlock_button)
        layout.addLayout(buttons)
        self.unlock_page = page
        self.stack.addWidget(page)

    def _build_create_page(self) -> None:
        page = QWidget(self)
        layout = QVBoxLayout(page)
        self.create_heading = style.heading("Create a profile", page, 1.6)
        layout.addWidget(self.create_heading)
        layout.addWidget(
            style.muted(
                "The passphrase encrypts the record. Nobody, including us, can recover it; the "
                "recovery key shown next is the only way back in if it is forgotten. The "
                "profile's name is visible on disk: initials are enough.",
                page,
            )
        )
        form = QFormLayout()
        self.new_name = QLineEdit(page)
        self.new_name.setAccessibleName("Profile name")
        form.addRow("Profile &name", self.new_name)
        # Whose record it will be (optional: else the first imported record says).
        self.person_name = QLineEdit(page)
        self.person_name.setAccessibleName("The person's full name (optional)")
        self.person_name.setPlaceholderText("Optional: Given names Family name")
        form.addRow("Person's full name", self.person_name)
        self.person_birth = QLineEdit(page)
        self.person_birth.setAccessibleName("The person's birth date (optional)")
        self.person_birth.setPlaceholderText("Optional: YYYY-MM-DD")
        form.addRow("Birth date", self.person_birth)
        self.new_passphrase = QLineEdit(page)
        self.new_passphrase.setEchoMode(QLineEdit.EchoMode.Password)
        self.new_passphrase.setAccessibleName("New passphrase")
        self.new_passphrase.textChanged.connect(self._update_strength)
        form.addRow("&Passphrase", self.new_passphrase)
        self.strength_bar = QProgressBar(page)
        self.strength_bar.setRange(0, 4)
        self.strength_bar.setTextVisible(True)
        self.strength_bar.setAccessibleName("Passphrase strength")
        form.addRow("Strength", self.strength_bar)
        self.strength_feedback = style.muted("", page)
        self.strength_feedback.setAccessibleName("Passphrase advice")
        form.addRow("", self.strength_feedback)
        self.confirm_passphrase = QLineEdit(page)
        self.confirm_passphrase.setEchoMode(QLineEdit.EchoMode.Password)
        self.confirm_passphrase.setAccessibleName("Repeat passphrase")
        self.confirm_passphrase.textChanged.connect(self._update_strength)
        self.confirm_passphrase.returnPressed.connect(self.create_clicked)
        form.addRow("&Repeat it", self.confirm_passphrase)
        self.show_passphrase = QCheckBox("&Show passphrase", page)
        self.show_passphrase.toggled.connect(self._show_passphrase)
        form.addRow("", self.show_passphrase)
        self.remember = QCheckBox("Remember on this &device (unlock without the passphrase)", page)
        self.remember.setToolTip(
            "Keeps a copy of the key in the system keyring (only secure keyrings are used). "
            "Anyone signed in to this computer as you could then open the profile."
        )
        form.addRow("", self.remember)
        layout.addLayout(form)
        self.create_error = QLabel(page)
        self.create_error.setWordWrap(True)
        self.create_error.setAccessibleName("Create message")
        self.create_error.setTextFormat(Qt.TextFormat.PlainText)
        layout.addWidget(self.create_error)
        buttons = QHBoxLayout()
        self.back_button = QPushButton("&Back", page)
        self.back_button.clicked.connect(self.show_unlock)
        buttons.addWidget(self.back_button)
        buttons.addStretch(1)
        self.create_button = QPushButton("&Create profile", page)
        self.create_button.setDefault(True)
        self.create_button.clicked.connect(self.create_clicked)
        buttons.addWidget(self.create_button)
        layout.addLayout(buttons)
        self.create_page = page
        self.stack.addWidget(page)
        self._update_strength()

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

    # --- navigation ---------------------------------------------------------------------------

    def reset(self, select: str | None = None) -> None:
        """Back to the start (after a lock): nothing typed before remains in a field."""
        for field in (
            self.passphrase, self.recovery_key, self.new_name, self.new_passphrase,
            self.confirm_passphrase, self.person_name, self.person_birth,
        ):  # fmt: skip
            field.clear()
        self.unlock_error.clear()
        self.create_error.clear()
        self.key_label.clear()
        self.use_recovery.setChecked(False)
        self._recovery_mode(False)
        self.remember.setChecked(False)
        self.kept_key.setChecked(False)
        self.profile_list.clear()
        names = self.profiles.names()
        self.profile_list.addItems(names)
        if not names:
            self.show_create(first=True)
            return
        row = names.index(select) if select in names else 0
        self.profile_list.setCurrentRow(row)
        self.show_unlock()

    def show_unlock(self) -> None:
        self.stack.setCurrentWidget(self.unlock_page)
        self.passphrase.setFocus()

    def show_create(self, *, first: bool) -> None:
        self.create_heading.setText("Welcome: create your profile" if first else "New profile")
        self.back_button.setVisible(not first)
        self.stack.setCurrentWidget(self.create_page)
        self.new_name.setFocus()

    def _recovery_mode(self, on: bool) -> None:
        self.recovery_key.setVisible(on)
        self.recovery_label.setVisible(on)
        self.passphrase.setEnabled(not on)
        (self.recovery_key if on else self.passphrase).setFocus()

    def _show_passphrase(self, on: bool) -> None:
        mode = QLineEdit.EchoMode.Normal if on else QLineEdit.EchoMode.Password
        self.new_passphrase.setEchoMode(mode)
        self.confirm_passphrase.setEchoMode(mode)

    def _focus_passphrase(self, _item: object = None) -> None:
        self.passphrase.setFocus()

    def _set_busy(self, busy: bool, message: str = "") -> None:
        self.stack.setEnabled(not busy)
        if busy:
            self.unlock_error.setText(message)
            self.create_error.setText(message)

    # --- unlock -------------------------------------------------------------------------------

    def selected_profile(self) -> str | None:
        item = self.profile_list.currentItem()
        return item.text() if item else None

    def unlock_clicked(self) -> None:
        name = self.selected_profile()
        if name is None:
            self.unlock_error.setText("Choose a profile first.")
            return
        if self.use_recovery.isChecked():
            key = self.recovery_key.text().strip()
            if not key:
                self.unlock_error.setText("Type the recovery key.")
                return
            self._unlock(name, recovery_key=key)
        else:
            passphrase = self.passphrase.text()
            if not passphrase:
                self.unlock_error.setText("Type the passphrase.")
                return
            self._unlock(name, passphrase=passphrase)

    def unlock_remembered_clicked(self) -> None:
        name = self.selected_profile()
        if name is None:
            self.unlock_error.setText("Choose a profile first.")
            return
        self._unlock(name, use_keyring=True)

    def _unlock(self, name: str, **how: str | bool) -> None:
        profiles = self.profiles
        self._set_busy(True, "Unlocking…")
        self.runner.run(
            lambda _progress, _cancel: profiles.unlock(name, **how),  # type: ignore[arg-type]
            title="Unlocking",
            on_success=self._finish_unlock,
            on_error=lambda exc: self._inline_error(exc, self.unlock_error),
            show_progress=False,
        )

    def _finish_unlock(self, session: Session) -> None:
        self._set_busy(False)
        self.passphrase.clear()
        self.recovery_key.clear()
        self.unlock_error.clear()
        self.unlocked.emit(session)

    def _inline_error(self, exc: BaseException, label: QLabel) -> bool:
        self._set_busy(False)
        if isinstance(exc, USER_ERRORS):
            label.setText(str(exc))
            return True
        label.setText("Something went wrong (a bug); see the details.")
        return False

    # --- create -------------------------------------------------------------------------------

    def _update_strength(self) -> None:
        strength = passphrase_strength(self.new_passphrase.text(), (self.new_name.text(),))
        self.strength_bar.setValue(strength.score)
        self.strength_bar.setFormat(strength.label)
        self.strength_bar.setAccessibleDescription(f"{strength.label}. {strength.feedback}")
        self.strength_feedback.setText(strength.feedback)

    def create_clicked(self) -> None:
        name = self.new_name.text().strip()
        passphrase = self.new_passphrase.text()
        strength = passphrase_strength(passphrase, (name,))
        person_name, birth = self.person_name.text().strip(), self.person_birth.text().strip()
        problem = (
            "Give the profile a name."
            if not name
            else "Write the birth date as YYYY-MM-DD (or leave it empty)."
            if birth and not _is_iso_date(birth)
            else f"The passphrase is {strength.label.lower()}. {strength.feedback}".strip()
            if not strength.acceptable
            else "The two passphrases differ."
            if passphrase != self.confirm_passphrase.text()
            else None
        )
        if problem:
            self.create_error.setText(problem)
            return
        remember = self.remember.isChecked()
        profiles = self.profiles

        def create(_progress: object, _cancel: object) -> tuple[Session, str, str]:
            session, recovery_key = profiles.create(name, passphrase)
            if person_name or birth:
                names = [PersonName.parse(person_name)] if person_name else []
                session.person.set(names, birth or None, set_from="created")
            note = ""
            if remember:
                try:
                    session.remember_on_device()
                    note = "Remembered on this device: the keyring holds a copy of the key."
                except KeyringRefused as exc:
                    note = f"Not remembered on this device. {exc}"
            return session, recovery_key, note

        self._set_busy(True, "Creating the profile (this takes a second)…")
        self.runner.run(
            create,
            title="Creating the profile",
            on_success=self._show_recovery,
            on_error=lambda exc: self._inline_error(exc, self.create_error),
            show_progress=False,
        )

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


__all__ = ["ProfileScreen", "Strength", "passphrase_strength"]


def _is_iso_date(text: str) -> bool:
    try:
        date.fromisoformat(text)
    except ValueError:
        return False
    return True
