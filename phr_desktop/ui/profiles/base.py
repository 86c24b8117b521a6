"""What the profile screen's pages share: profiles, runner, page stack, busy state, errors."""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QLabel, QLineEdit, QStackedWidget, QWidget

from phr_desktop.services.errors import USER_ERRORS
from phr_desktop.services.profiles import Profiles
from phr_desktop.services.session import Session
from phr_desktop.ui.workers import TaskRunner


class ProfileScreenBase(QWidget):
    """The state and helpers the unlock, create and recovery-key pages of `ProfileScreen` use."""

    unlocked = Signal(object)  # services.session.Session

    profiles: Profiles
    runner: TaskRunner
    stack: QStackedWidget
    _pending: Session | None  # created, its recovery key shown, not yet continued
    unlock_error: QLabel
    create_error: QLabel
    new_passphrase: QLineEdit
    confirm_passphrase: QLineEdit

    if TYPE_CHECKING:  # defined by the screen and the recovery-key page

        def show_unlock(self) -> None: ...

        def show_create(self, *, first: bool) -> None: ...

        def _show_recovery(self, created: tuple[Session, str, str]) -> None: ...

    def _set_busy(self, busy: bool, message: str = "") -> None:
        self.stack.setEnabled(not busy)
        if busy:
            self.unlock_error.setText(message)
            self.create_error.setText(message)

    def _inline_error(self, exc: BaseException, label: QLabel) -> bool:
        self._set_busy(False)
        if isinstance(exc, USER_ERRORS):
            label.setText(str(exc))
            return True
        label.setText("Something went wrong (a bug); see the details.")
        return False
