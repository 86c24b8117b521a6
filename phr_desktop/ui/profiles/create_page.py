"""The profile screen's create page: name, optional person, passphrase with strength advice."""

from __future__ import annotations

from datetime import date

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QCheckBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QProgressBar,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from phr_desktop.domain.person_match import PersonName
from phr_desktop.services.errors import KeyringRefused
from phr_desktop.services.session import Session
from phr_desktop.ui import style
from phr_desktop.ui.profiles.base import ProfileScreenBase
from phr_desktop.ui.profiles.strength import passphrase_strength


class CreatePage(ProfileScreenBase):
    """The create page's widgets and what its buttons do (a part of `ProfileScreen`)."""

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
        # The explanation goes on a line of its own: beside the box it ran past the form's
        # width (80 average characters) and was cut off at 1024x700.
        self.remember = QCheckBox("Remember on this &device", page)
        self.remember.setToolTip(
            "Keeps a copy of the key in the system keyring (only secure keyrings are used). "
            "Anyone signed in to this computer as you could then open the profile."
        )
        form.addRow("", self.remember)
        remember_hint = "Then it unlocks on this computer without the passphrase."
        form.addRow("", style.muted(remember_hint, page))
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

    def _show_passphrase(self, on: bool) -> None:
        mode = QLineEdit.EchoMode.Normal if on else QLineEdit.EchoMode.Password
        self.new_passphrase.setEchoMode(mode)
        self.confirm_passphrase.setEchoMode(mode)

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


def _is_iso_date(text: str) -> bool:
    try:
        date.fromisoformat(text)
    except ValueError:
        return False
    return True
