"""Shared look and small dialogs for the windows: palette-aware styles, labels, messages."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QFont
from PySide6.QtWidgets import QCheckBox, QLabel, QListWidget, QMessageBox, QWidget

from phr_desktop.ui.readable_colours import mark_muted

APP_NAME = "phr-desktop"
# QSettings scope: window geometry and preferences only, never health data.
SETTINGS_ORG = "phr-desktop"
SETTINGS_APP = "phr-desktop"
LATER_RELEASE = "Arrives in a later release"


def scaled_font(widget: QWidget, factor: float, *, bold: bool = False) -> QFont:
    """The widget's font scaled by `factor`: sizes follow the user's font settings and DPI."""
    font = QFont(widget.font())
    if font.pointSizeF() > 0:
        font.setPointSizeF(font.pointSizeF() * factor)
    if bold:
        font.setWeight(QFont.Weight.DemiBold)
    return font


def heading(text: str, parent: QWidget, factor: float = 1.35) -> QLabel:
    label = QLabel(text, parent)
    label.setFont(scaled_font(label, factor, bold=True))
    label.setAccessibleName(text)
    label.setTextFormat(Qt.TextFormat.PlainText)
    return label


def muted(text: str, parent: QWidget, *, wrap: bool = True) -> QLabel:
    """Secondary text in the palette's placeholder colour."""
    label = QLabel(text, parent)
    label.setWordWrap(wrap)
    label.setTextFormat(Qt.TextFormat.PlainText)
    # Derived from the palette and recoloured on a switch between light and dark; Qt's own
    # placeholder colour reads at under 4.5:1 (readable_colours.py).
    mark_muted(label)
    return label


def named_list(name: str, parent: QWidget) -> QListWidget:
    """A list of one-line items, named for screen readers."""
    widget = QListWidget(parent)
    widget.setAccessibleName(name)
    widget.setUniformItemSizes(True)
    return widget


def show_message(
    parent: QWidget | None,
    icon: QMessageBox.Icon,
    title: str,
    text: str,
    details: str | None = None,
) -> QMessageBox:
    """A message box that does not block: the event loop (and any worker) keeps running."""
    box = QMessageBox(icon, title, text, QMessageBox.StandardButton.Ok, parent)
    box.setTextFormat(Qt.TextFormat.PlainText)
    if details:
        box.setDetailedText(details)
    box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
    box.setAccessibleName(title)
    box.open()
    return box


def ask(
    parent: QWidget | None, title: str, text: str, checkbox: str | None = None
) -> tuple[bool, bool]:
    """A modal yes/no question, with an optional checkbox; returns (yes, checkbox ticked).

    Tests replace this function (it is the one place the UI blocks on the user).
    """
    box = QMessageBox(
        QMessageBox.Icon.Question,
        title,
        text,
        QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.Cancel,
        parent,
    )
    box.setTextFormat(Qt.TextFormat.PlainText)
    box.setDefaultButton(QMessageBox.StandardButton.Cancel)
    tick = None
    if checkbox:
        tick = QCheckBox(checkbox, box)
        box.setCheckBox(tick)
    answer = box.exec() == QMessageBox.StandardButton.Yes
    return answer, bool(tick and tick.isChecked())
