"""The profile screen's unlock page: choose a profile; passphrase, recovery key or keyring."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QCheckBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from phr_desktop.services.session import Session
from phr_desktop.ui import style
from phr_desktop.ui.profiles.base import ProfileScreenBase


class UnlockPage(ProfileScreenBase):
    """The unlock page's widgets and what its buttons do (a part of `ProfileScreen`)."""

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

    def _recovery_mode(self, on: bool) -> None:
        self.recovery_key.setVisible(on)
        self.recovery_label.setVisible(on)
        self.passphrase.setEnabled(not on)
        (self.recovery_key if on else self.passphrase).setFocus()

    def _focus_passphrase(self, _item: object = None) -> None:
        self.passphrase.setFocus()

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
