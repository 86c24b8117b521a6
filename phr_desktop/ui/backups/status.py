"""The dashboard's backup line: when the last good backup was made, or what is wrong (none,
older than a week, a failed run, another computer's newer backup). Told, not hoped."""

from __future__ import annotations

from datetime import UTC, datetime

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QWidget

from phr_desktop.services.backup_status import BackupStatus
from phr_desktop.services.session import Session
from phr_desktop.ui import style


def status_text(status: BackupStatus, now: datetime | None = None) -> tuple[str, bool]:
    """The line to show, and whether it is a warning."""
    now = now or datetime.now(UTC)
    warnings = status.warnings(now)
    if warnings:
        return "⚠ " + " ".join(warnings), True
    assert status.last_good is not None  # no warning: there is a recent good backup
    when = status.last_good.made.astimezone()
    days = (now - status.last_good.made).days
    age = "today" if days == 0 else ("yesterday" if days == 1 else f"{days} days ago")
    where = f" to {status.folder}" if status.folder else ""
    return f"Last good backup: {when:%Y-%m-%d %H:%M} ({age}){where}.", False


class BackupStatusWidget(QFrame):
    """One line the dashboard places; `refresh()` after anything that may change it."""

    def __init__(self, session: Session | None, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.session = session
        self.setAccessibleName("Backups")
        self.setFrameShape(QFrame.Shape.StyledPanel)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(8, 4, 8, 4)
        self.label = QLabel(self)
        self.label.setWordWrap(True)
        self.label.setTextFormat(Qt.TextFormat.PlainText)
        self.label.setAccessibleName("Backup status")
        layout.addWidget(self.label, 1)
        self.warning = False
        self.refresh()

    def refresh(self) -> None:
        if self.session is None or self.session.vault.closed:
            return
        text, self.warning = status_text(self.session.auto_backup.status())
        self.label.setText(text)
        self.label.setFont(style.scaled_font(self.label, 1.0, bold=self.warning))
        self.label.setAccessibleDescription("warning" if self.warning else "")

    def clear(self) -> None:
        self.session = None
        self.label.clear()
