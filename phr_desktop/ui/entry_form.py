"""The entry forms' common part: a form, an inline error, Save/Cancel, and the checks every
form makes (dates, numbers) before the service decides the rest."""

from __future__ import annotations

import datetime as dt

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QLabel,
    QLineEdit,
    QVBoxLayout,
    QWidget,
)

from phr_desktop.domain.records import parse_partial_date
from phr_desktop.services.errors import ServiceError
from phr_desktop.services.session import Session
from phr_desktop.ui.partial_date_edit import PartialDateEdit
from phr_desktop.ui.readable_colours import mark_flag
from phr_desktop.ui.timeline.model import format_date


class Invalid(ServiceError):
    """A field the dialog itself refused; it gets the focus back."""

    def __init__(self, message: str, widget: QWidget) -> None:
        super().__init__(message)
        self.widget = widget


class EntryDialog(QDialog):
    """Form + inline error + Save/Cancel; subclasses implement `_save()`."""

    # Names its dialog (`saved_ids` holds the new records), so a window listens with a bound
    # method: a closure over the dialog on its own signal crashes PySide when it deletes itself.
    saved = Signal(object)

    def __init__(self, session: Session, title: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.session = session
        self.saved_ids: list[int] = []
        self.setWindowTitle(title)
        self.setMinimumWidth(420)
        self.form = QFormLayout()
        # Every field grows, combo boxes included: an empty editable combo box asks for ~75 px,
        # too narrow to read "Tiotropium 18 mcg inhaler" in.
        self.form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        self.error = QLabel(self)
        self.error.setAccessibleName("Error")
        self.error.setWordWrap(True)
        mark_flag(self.error)
        self.error.hide()
        self.buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Save | QDialogButtonBox.StandardButton.Cancel, self
        )
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)
        self.accepted.connect(self._announce_saved)
        layout = QVBoxLayout(self)
        layout.addLayout(self.form)
        layout.addWidget(self.error)
        layout.addWidget(self.buttons)

    # --- building blocks -----------------------------------------------------------------

    def _line(self, label: str, placeholder: str = "", text: str = "") -> QLineEdit:
        edit = QLineEdit(text, self)
        edit.setPlaceholderText(placeholder)
        edit.setAccessibleName(label.rstrip(":"))
        self.form.addRow(label, edit)
        return edit

    def _date(self, label: str = "Date:") -> PartialDateEdit:
        """Typed, or picked from a calendar that can also keep only the month or the year."""
        edit = PartialDateEdit(dt.date.today().isoformat(), self)
        edit.setAccessibleName(label.rstrip(":"))
        self.form.addRow(label, edit)
        return edit

    def show_error(self, message: str) -> None:
        self.error.setText(message)
        self.error.show()

    # --- checks --------------------------------------------------------------------------

    @staticmethod
    def _checked_date(edit: QLineEdit | PartialDateEdit, what: str = "date") -> str:
        text = edit.text().strip()
        parsed = parse_partial_date(text)
        if parsed is None:
            raise Invalid(f"The {what} “{text}” is not a date; use YYYY-MM-DD.", edit)
        try:
            start = (
                dt.date.fromisoformat(parsed.day_text)
                if parsed.day_text
                else dt.date(parsed.year, parsed.month or 1, 1)
            )
        except ValueError:
            raise Invalid(f"The {what} “{text}” does not exist in the calendar.", edit) from None
        if start > dt.date.today():
            raise Invalid(f"The {what} {format_date(parsed)} is in the future.", edit)
        return parsed.text

    @staticmethod
    def _number(edit: QLineEdit, what: str, *, required: bool = True) -> float | None:
        text = edit.text().strip().replace(",", ".")
        if not text:
            if required:
                raise Invalid(f"Enter the {what}.", edit)
            return None
        try:
            return float(text)
        except ValueError:
            raise Invalid(f"The {what} “{edit.text()}” is not a number.", edit) from None

    # --- accept --------------------------------------------------------------------------

    def accept(self) -> None:
        try:
            self.saved_ids = self._save()
        except ServiceError as error:  # the message is for the patient; the dialog stays open
            self.show_error(str(error))
            if isinstance(error, Invalid):
                error.widget.setFocus()
            return
        super().accept()

    def _announce_saved(self) -> None:
        self.saved.emit(self)

    def _save(self) -> list[int]:
        raise NotImplementedError
