"""Windows and dialogs open at a size that fits the screen they are on.

A dialog's size hint or a saved size from a larger monitor can exceed a 1024×700 laptop screen;
its buttons then sit below the screen's edge, out of reach.
"""

from __future__ import annotations

from PySide6.QtCore import QSize, Qt
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import QFrame, QScrollArea, QWidget

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


def open_at_hint(widget: QWidget) -> QSize:
    """Size a window to what its content asks for, within its screen.

    Qt otherwise caps a new top-level window at two thirds of the screen: on a 1366×768
    screen that squeezed the share dialog's 580 px of content into 512 px, and its rows
    overlapped.
    """
    widget.resize(widget.sizeHint().boundedTo(available_size(widget)))
    return widget.size()


class _WholeContentScrollArea(QScrollArea):
    """Asks for its whole content's size (QScrollArea asks for a fixed small size), so a
    window opens showing everything when the screen has room, and scrolls when it has not."""

    def sizeHint(self) -> QSize:
        content = self.widget()
        if content is None:
            return super().sizeHint()
        bar = self.verticalScrollBar().sizeHint().width()
        return content.sizeHint() + QSize(bar, 0)


def scrolling(content: QWidget, parent: QWidget) -> QScrollArea:
    """`content` in a frameless vertical scroll area: on a short screen the form scrolls
    instead of its rows being pressed on top of each other."""
    area = _WholeContentScrollArea(parent)
    area.setWidgetResizable(True)
    area.setFrameShape(QFrame.Shape.NoFrame)
    area.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
    area.setWidget(content)
    return area
