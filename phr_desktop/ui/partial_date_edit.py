"""Dates for the entry forms and the date filters: typed as YYYY, YYYY-MM or YYYY-MM-DD, or
picked from a calendar, which can also keep just the month or the year ("I started it in spring
2019").

FHIR dates keep their precision, so a form must not force a day the patient does not know.
"""

from __future__ import annotations

from PySide6.QtCore import QDate, QPoint, Qt
from PySide6.QtWidgets import (
    QCalendarWidget,
    QHBoxLayout,
    QLineEdit,
    QMenu,
    QPushButton,
    QToolButton,
    QVBoxLayout,
    QWidget,
    QWidgetAction,
)

from phr_desktop.domain.records import parse_partial_date

# (button text, how much of the picked date is kept)
PRECISIONS = (("That &day", "yyyy-MM-dd"), ("Only the &month", "yyyy-MM"),
              ("Only the &year", "yyyy"))  # fmt: skip


class CalendarButton(QToolButton):
    """A "Calendar…" button that fills a line edit with the picked date: a day, or only its
    month or year. Used beside the entry forms' dates and the timeline's and share's filters."""

    def __init__(
        self, target: QLineEdit, name: str, parent: QWidget | None = None, *, compact: bool = False
    ) -> None:
        super().__init__(parent)
        self.target = target
        if compact:  # a narrow filter row: an arrow beside the field, named for screen readers
            self.setArrowType(Qt.ArrowType.DownArrow)
        else:
            self.setText("Calendar…")
        self.setAccessibleName(name)
        self.setToolTip(name)
        self.clicked.connect(self.open_calendar)
        self.calendar = QCalendarWidget(self)
        self.calendar.setGridVisible(True)
        self.calendar.activated.connect(lambda _d: self.take(PRECISIONS[0][1]))
        self.calendar.setAccessibleName("Calendar")
        for inner in self.calendar.findChildren(QLineEdit):  # the year spin box's editor
            inner.setAccessibleName("Year")
        self.popup = self._popup()

    def _popup(self) -> QMenu:
        menu = QMenu(self)
        body = QWidget(menu)
        layout = QVBoxLayout(body)
        layout.addWidget(self.calendar)
        buttons = QHBoxLayout()
        self.precision_buttons: dict[str, QPushButton] = {}
        for text, pattern in PRECISIONS:
            button = QPushButton(text, body)
            button.clicked.connect(lambda _c=False, p=pattern: self.take(p))
            buttons.addWidget(button)
            self.precision_buttons[pattern] = button
        layout.addLayout(buttons)
        holder = QWidgetAction(menu)
        holder.setDefaultWidget(body)
        menu.addAction(holder)
        return menu

    def open_calendar(self) -> None:
        """Open on the date typed so far (its first day for a month or a year), else today."""
        parsed = parse_partial_date(self.target.text().strip())
        if parsed is not None:
            start = parsed.day_text or f"{parsed.year:04d}-{parsed.month or 1:02d}-01"
            self.calendar.setSelectedDate(QDate.fromString(start, "yyyy-MM-dd"))
        self.popup.popup(self.mapToGlobal(QPoint(0, self.height())))

    def take(self, pattern: str) -> None:
        """Keep the picked date at this precision, close the calendar, and let the field's
        listeners know as if the date had been typed (filters apply on editingFinished)."""
        self.target.setText(self.calendar.selectedDate().toString(pattern))
        self.popup.hide()
        self.target.setFocus()
        self.target.editingFinished.emit()


class PartialDateEdit(QWidget):
    """A line edit (the value, as text) with a Calendar button beside it."""

    def __init__(self, text: str = "", parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.edit = QLineEdit(text, self)
        self.edit.setPlaceholderText("YYYY-MM-DD, or YYYY-MM or YYYY if that is all you know")
        self.editingFinished = self.edit.editingFinished
        self.textChanged = self.edit.textChanged
        self.calendar_button = CalendarButton(self.edit, "Pick the date from a calendar", self)
        self.calendar = self.calendar_button.calendar
        self.calendar.setMaximumDate(QDate.currentDate())  # entries are of things that happened
        self.popup = self.calendar_button.popup
        self.precision_buttons = self.calendar_button.precision_buttons
        row = QHBoxLayout(self)
        row.setContentsMargins(0, 0, 0, 0)
        row.addWidget(self.edit, 1)
        row.addWidget(self.calendar_button)
        self.setFocusProxy(self.edit)

    # --- the QLineEdit part of the API the forms and tests use ----------------------------

    def text(self) -> str:
        return self.edit.text()

    def setText(self, text: str) -> None:
        self.edit.setText(text)

    def setAccessibleName(self, name: str) -> None:
        super().setAccessibleName(name)
        self.edit.setAccessibleName(name)

    def open_calendar(self) -> None:
        self.calendar_button.open_calendar()

    def take(self, pattern: str) -> None:
        self.calendar_button.take(pattern)
