"""macOS hands a double-clicked `.phrshare` to a running (or starting) app as a FileOpen event,
not as a command-line argument: route it to the same "Open share" path as `phr-desktop FILE`."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import QEvent, QObject
from PySide6.QtGui import QFileOpenEvent


class FileOpenFilter(QObject):
    """Installed on the QApplication; takes FileOpen events for `.phrshare` files."""

    def __init__(self, open_share: Callable[[Path], object], parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._open_share = open_share

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if event.type() == QEvent.Type.FileOpen and isinstance(event, QFileOpenEvent):
            path = Path(event.file())
            if path.suffix.lower() == ".phrshare":
                self._open_share(path)
                return True
        return super().eventFilter(watched, event)
