"""Edit ▸ Automatic sync…: how often each connection syncs by itself while the app is open."""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtGui import QAction
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QLabel,
    QMessageBox,
    QVBoxLayout,
    QWidget,
)

from phr_desktop.services.errors import USER_ERRORS
from phr_desktop.services.session import Session
from phr_desktop.services.sync_schedule import SyncSchedules
from phr_desktop.ui import style

CHOICES = (("daily", "Every day"), ("weekly", "Every week"), ("off", "Only when I sync"))
EXPLANATION = (
    "While phr-desktop is open and unlocked, each provider syncs by itself when it is due, and "
    "at unlock when it is overdue. To sync daily while the app is closed, run "
    "`phr schedule enable` (it needs the profile remembered on this device)."
)


class SyncScheduleDialog(QDialog):
    def __init__(self, session: Session, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.session = session
        self.setWindowTitle("Automatic sync")
        layout = QVBoxLayout(self)
        explanation = QLabel(EXPLANATION, self)
        explanation.setWordWrap(True)
        layout.addWidget(explanation)
        form = QFormLayout()
        layout.addLayout(form)
        self.choosers: dict[str, QComboBox] = {}
        self.current = SyncSchedules(session).all()
        for name, schedule in self.current.items():
            chooser = QComboBox(self)
            for value, text in CHOICES:
                chooser.addItem(text, value)
            chooser.setCurrentIndex(chooser.findData(schedule))
            chooser.setAccessibleName(f"{name}: how often it syncs")
            form.addRow(name, chooser)
            self.choosers[name] = chooser
        if not self.choosers:
            layout.addWidget(QLabel("No providers are connected yet.", self))
        buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Save | QDialogButtonBox.StandardButton.Cancel, self
        )
        buttons.accepted.connect(self.save)
        buttons.rejected.connect(self.reject)
        layout.addWidget(buttons)

    def save(self) -> None:
        schedules = SyncSchedules(self.session)
        try:
            for name, chooser in self.choosers.items():
                chosen = str(chooser.currentData())
                if chosen != self.current[name]:
                    schedules.set(name, chosen)
        except USER_ERRORS as exc:
            style.show_message(self, QMessageBox.Icon.Warning, "Automatic sync", str(exc))
            return
        self.accept()


def sync_schedule_action(parent: QWidget, session: Callable[[], Session | None]) -> QAction:
    """The menu action that opens the dialog for the unlocked session."""
    action = QAction("Automatic &sync…", parent)
    action.setStatusTip("How often each provider syncs by itself")

    def open_dialog() -> None:
        current = session()
        if current is not None:
            dialog = SyncScheduleDialog(current, parent)
            dialog.open()

    action.triggered.connect(open_dialog)
    return action
