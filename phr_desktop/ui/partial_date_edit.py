"""A date field for the entry forms: typed as YYYY, YYYY-MM or YYYY-MM-DD, or picked from a
calendar, which can also keep just the month or the year ("I started it in spring 2019").

FHIR dates keep their precision, so a form must not force a day the patient does not know.
"""

from __future__ import annotations

from PySide6.QtCore import QDate, QPoint
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


class PartialDateEdit(QWidget):
    """A line edit (the value, as text) with a Calendar button beside it."""

    def __init__(self, text: str = "", parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.edit = QLineEdit(text, self)
        self.edit.setPlaceholderText("YYYY-MM-DD, or YYYY-MM or YYYY if that is all you know")
        self.editingFinished = self.edit.editingFinished
        self.textChanged = self.edit.textChanged
        self.calendar_button = QToolButton(self)
        self.calendar_button.setText("Calendar…")
        self.calendar_button.setAccessibleName("Pick the date from a calendar")
        self.calendar_button.clicked.connect(self.open_calendar)
        self.calendar = QCalendarWidget(self)
        self.calendar.setGridVisible(True)
        self.calendar.setMaximumDate(QDate.currentDate())  # entries are of things that happened
        self.calendar.activated.connect(lambda _d: self.take(PRECISIONS[0][1]))
        self.calendar.setAccessibleName("Calendar")
        for inner in self.calendar.findChildren(QLineEdit):  # the year spin box's editor
            inner.setAccessibleName("Year")
        self.popup = self._popup()
        row = QHBoxLayout(self)
        row.setContentsMargins(0, 0, 0, 0)
        row.addWidget(self.edit, 1)
        row.addWidget(self.calendar_button)
        self.setFocusProxy(self.edit)

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

    # --- the QLineEdit part of the API the forms and tests use ----------------------------

    def text(self) -> str:
        return self.edit.text()

    def setText(self, text: str) -> None:
        self.edit.setText(text)

    def setAccessibleName(self, name: str) -> None:
        super().setAccessibleName(name)
        self.edit.setAccessibleName(name)

    # --- the calendar ---------------------------------------------------------------------

    def open_calendar(self) -> None:
        """Open on the date typed so far (its first day for a month or a year), else today."""
        parsed = parse_partial_date(self.edit.text().strip())
        if parsed is not None:
            start = parsed.day_text or f"{parsed.year:04d}-{parsed.month or 1:02d}-01"
            self.calendar.setSelectedDate(QDate.fromString(start, "yyyy-MM-dd"))
        self.popup.popup(self.calendar_button.mapToGlobal(QPoint(0, self.calendar_button.height())))

    def take(self, pattern: str) -> None:
        """Keep the picked date at this precision and close the calendar."""
        self.edit.setText(self.calendar.selectedDate().toString(pattern))
        self.popup.hide()
        self.edit.setFocus()
