"""Windows and dialogs open at a size that fits the screen they are on.

A dialog's size hint or a saved size from a larger monitor can exceed a 1024×700 laptop screen;
its buttons then sit below the screen's edge, out of reach.
"""

from __future__ import annotations

from PySide6.QtCore import QSize
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import QWidget

# What window frames, a taskbar and a panel take from the screen's available area.
FRAME_ALLOWANCE = QSize(16, 40)


def available_size(widget: QWidget) -> QSize:
    """The usable area of the widget's screen (the primary screen before it is shown)."""
    screen = widget.screen() or QGuiApplication.primaryScreen()
    if screen is None:
        return QSize(1024, 700)
    return screen.availableGeometry().size() - FRAME_ALLOWANCE


def fit_to_screen(widget: QWidget) -> QSize:
    """Shrink the widget (never grow it) to fit its screen; returns the size it now has."""
    room = available_size(widget)
    size = widget.size().boundedTo(room)
    if size != widget.size():
        widget.resize(size)
    return widget.size()
