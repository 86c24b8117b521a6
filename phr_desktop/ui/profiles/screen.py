"""The first screen: choose a profile and unlock it, or create one and keep its recovery key.

Unlocking and creating run the KDF (about half a second by design) in a worker, so the window
stays responsive. `unlocked(session)` is emitted with the open `services.session.Session`.
"""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QAction
from PySide6.QtWidgets import QHBoxLayout, QStackedWidget, QToolButton, QVBoxLayout, QWidget

from phr_desktop.services.profiles import Profiles
from phr_desktop.ui import style
from phr_desktop.ui.profiles.create_page import CreatePage
from phr_desktop.ui.profiles.recovery_key_page import RecoveryKeyPage
from phr_desktop.ui.profiles.unlock_page import UnlockPage
from phr_desktop.ui.workers import TaskRunner


class ProfileScreen(UnlockPage, CreatePage, RecoveryKeyPage):
    """The three pages (unlock, create, recovery key) in one stack, and a footer for all."""

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
        self._pending = None
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
