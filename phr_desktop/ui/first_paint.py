"""Run work once a widget has first been painted.

A worker started while the window is still being built competes with its first paint: the
vault's connection is shared (SQLite serialises each statement), so the timeline's page and
source reads wait for the worker's long one, and the worker's CPU is spent before anything is
on screen. Work that only fills a list the patient has not seen yet waits for that list's first
paint instead.
"""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import QEvent, QObject, QTimer
from PySide6.QtWidgets import QAbstractScrollArea, QWidget


class FirstPaint(QObject):
    """Calls `callback` once, on the event-loop turn after `widget` first paints."""

    def __init__(self, widget: QWidget, callback: Callable[[], None]) -> None:
        super().__init__(widget)
        # A scroll area (a list, a tree) paints its rows in its viewport, not in itself.
        self._watched = widget.viewport() if isinstance(widget, QAbstractScrollArea) else widget
        self._callback: Callable[[], None] | None = callback
        self._watched.installEventFilter(self)

    @property
    def pending(self) -> bool:
        return self._callback is not None

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        callback = self._callback
        if watched is self._watched and event.type() == QEvent.Type.Paint and callback:
            self._callback = None
            self._watched.removeEventFilter(self)
            # After this paint has finished, not inside it.
            QTimer.singleShot(0, callback)
        return False

    def cancel(self) -> None:
        """Never call it (the widget is being cleared)."""
        if self._callback is not None:
            self._callback = None
            self._watched.removeEventFilter(self)
