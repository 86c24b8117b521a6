"""Dates in the entry forms: a calendar popup, and a month or a year alone where that is all
the patient knows (the record keeps the precision)."""

from __future__ import annotations

from PySide6.QtCore import QDate

from phr_desktop.services.session import Session
from phr_desktop.ui.manual_entry import ConditionDialog, MedicationDialog
from phr_desktop.ui.partial_date_edit import PartialDateEdit


def test_the_calendar_opens_on_the_typed_date_and_a_day_is_picked(qtbot) -> None:  # type: ignore[no-untyped-def]
    edit = PartialDateEdit("2019-03")
    qtbot.addWidget(edit)
    edit.show()
    edit.calendar_button.click()
    assert edit.popup.isVisible()
    assert edit.calendar.selectedDate() == QDate(2019, 3, 1)
    edit.calendar.setSelectedDate(QDate(2019, 3, 14))
    edit.calendar.activated.emit(QDate(2019, 3, 14))  # Enter or a double-click on a day
    assert edit.text() == "2019-03-14" and not edit.popup.isVisible()


def test_only_the_month_or_the_year_can_be_kept(qtbot) -> None:  # type: ignore[no-untyped-def]
    edit = PartialDateEdit()
    qtbot.addWidget(edit)
    edit.calendar.setSelectedDate(QDate(2015, 6, 20))
    edit.precision_buttons["yyyy-MM"].click()
    assert edit.text() == "2015-06"
    edit.precision_buttons["yyyy"].click()
    assert edit.text() == "2015"


def test_the_calendar_offers_no_future_day() -> None:
    assert PartialDateEdit().calendar.maximumDate() == QDate.currentDate()


def test_a_condition_since_a_year_is_stored_with_year_precision(qtbot, session: Session) -> None:  # type: ignore[no-untyped-def]
    dialog = ConditionDialog(session)
    qtbot.addWidget(dialog)
    dialog.name.setText("Asthma")
    dialog.onset.calendar.setSelectedDate(QDate(2001, 5, 17))
    dialog.onset.precision_buttons["yyyy"].click()
    dialog.accept()
    effective = session.record(dialog.saved_ids[0]).record.effective
    assert effective is not None and effective.text == "2001"


def test_every_entry_form_date_has_a_calendar(qtbot, session: Session) -> None:  # type: ignore[no-untyped-def]
    dialog = MedicationDialog(session)
    qtbot.addWidget(dialog)
    assert isinstance(dialog.date, PartialDateEdit)
