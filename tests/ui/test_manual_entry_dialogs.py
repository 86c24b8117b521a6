"""Manual-entry dialogs: they refuse bad input with a message and save good entries."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from phr_desktop.services.session import RecordFilter, Session
from phr_desktop.ui.manual_entry import (
    ConditionDialog,
    CorrectionDialog,
    LabResultDialog,
    MedicationDialog,
    NoteDialog,
    SpirometryDialog,
    UploadDialog,
)

TODAY = dt.date.today().isoformat()


def test_a_lab_result_with_a_bad_date_is_refused_with_a_message(qtbot, session: Session) -> None:  # type: ignore[no-untyped-def]
    dialog = LabResultDialog(session)
    qtbot.addWidget(dialog)
    assert dialog.date.text() == TODAY
    dialog.test_name.setText("Alpha-1 antitrypsin")
    dialog.value.setText("22")
    dialog.unit.setText("mg/dL")
    dialog.date.setText("2019-13-45")
    dialog.accept()
    assert dialog.result() == 0 and dialog.saved_ids == []
    assert "is not a date" in dialog.error.text() and not dialog.error.isHidden()
    assert session.records() == []


def test_a_good_lab_result_is_saved(qtbot, session: Session) -> None:  # type: ignore[no-untyped-def]
    dialog = LabResultDialog(session)
    qtbot.addWidget(dialog)
    dialog.test_name.setText("Alpha-1 antitrypsin")
    dialog.value.setText("22")
    dialog.unit.setText("mg/dL")
    dialog.date.setText("2014-01-30")
    dialog.low.setText("100")
    dialog.high.setText("200")
    dialog.loinc.setText("1825-9")
    dialog.accept()
    assert dialog.result() == 1
    (saved,) = session.records_by_ids(dialog.saved_ids)
    assert saved.record.value is not None and saved.record.value.value == 22
    assert saved.record.reference_range is not None and saved.record.reference_range.low == 100


def test_the_services_message_is_shown_inline(qtbot, session: Session) -> None:  # type: ignore[no-untyped-def]
    dialog = LabResultDialog(session)
    qtbot.addWidget(dialog)
    dialog.value.setText("5")
    dialog.accept()  # no test name: the service refuses
    assert dialog.error.text() == "Give the test a name."
    dialog.test_name.setText("x")
    dialog.value.setText("five")
    dialog.accept()
    assert dialog.error.text() == "The result “five” is not a number."


def test_future_dates_are_refused(qtbot, session: Session) -> None:  # type: ignore[no-untyped-def]
    dialog = ConditionDialog(session)
    qtbot.addWidget(dialog)
    dialog.name.setText("Asthma")
    dialog.onset.setText((dt.date.today() + dt.timedelta(days=3)).isoformat())
    dialog.accept()
    assert "in the future" in dialog.error.text()
    dialog.onset.setText("2001-05")
    dialog.accept()
    assert dialog.result() == 1 and len(dialog.saved_ids) == 1


def test_spirometry_saves_fev1_and_percent_predicted(qtbot, session: Session) -> None:  # type: ignore[no-untyped-def]
    dialog = SpirometryDialog(session)
    qtbot.addWidget(dialog)
    dialog.fev1.setText("15")
    dialog.accept()
    assert "between 0 and 10" in dialog.error.text()
    dialog.fev1.setText("1,45")  # a decimal comma is fine
    dialog.fev1_percent.setText("52")
    dialog.date.setText("2025-01-09")
    dialog.accept()
    titles = sorted(s.record.title for s in session.records_by_ids(dialog.saved_ids))
    assert titles == ["FEV1", "FEV1 % predicted"]


def test_the_infusion_mode_logs_an_augmentation_infusion(qtbot, session: Session) -> None:  # type: ignore[no-untyped-def]
    dialog = MedicationDialog(session, infusion=True)
    qtbot.addWidget(dialog)
    assert dialog.name.currentText() == "Zemaira"
    assert dialog.form.isRowVisible(dialog.dose) and not dialog.form.isRowVisible(dialog.rxnorm)
    dialog.dose.setText("60")
    dialog.date.setText("2025-03-06")
    dialog.accept()
    (saved,) = session.records_by_ids(dialog.saved_ids)
    assert saved.record.category == "administration"
    assert saved.record.value is not None and saved.record.value.unit == "mg/kg"
    assert session.views.aatd_overview().infusions[0].id == saved.id


def test_a_medication_is_saved_with_its_dose(qtbot, session: Session) -> None:  # type: ignore[no-untyped-def]
    dialog = MedicationDialog(session)
    qtbot.addWidget(dialog)
    dialog.name.setCurrentText("Tiotropium")
    dialog.dose_text.setText("18 mcg once a day")
    dialog.date.setText("2013-03-14")
    dialog.accept()
    assert dialog.result() == 1
    (saved,) = session.records_by_ids(dialog.saved_ids)
    assert saved.record.title == "Tiotropium" and saved.record.kind.value == "medication"


def test_a_note_and_an_upload_are_saved(qtbot, session: Session, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    note = NoteDialog(session)
    qtbot.addWidget(note)
    note.accept()
    assert note.error.text() == "A note needs some text."
    note.text.setPlainText("Started pulmonary rehab.")
    note.accept()
    assert note.result() == 1

    upload = UploadDialog(session)
    qtbot.addWidget(upload)
    upload.accept()
    assert upload.error.text() == "Choose a file to add."
    scan = tmp_path / "ct_report.pdf"
    scan.write_bytes(b"%PDF-1.4 scan")
    upload.set_file(scan)
    assert upload.title.text() == "ct report"
    upload.accept()
    assert upload.result() == 1
    assert session.attachments(upload.saved_ids[0])[0][1] == "ct_report.pdf"
    assert len(session.records(RecordFilter(kinds=("document", "clinical_note")))) >= 1


def test_a_correction_shows_the_current_value_and_is_kept_beside_the_record(
    qtbot, session: Session
) -> None:  # type: ignore[no-untyped-def]
    record_id = session.entries.add_lab_result("ALT", 33, "U/L", "2020-11-12")
    dialog = CorrectionDialog(session, record_id)
    qtbot.addWidget(dialog)
    assert dialog.current.text() == "33"
    dialog.accept()
    assert dialog.error.text() == "Say which detail is wrong and what it should be."
    dialog.value.setText("38")
    dialog.reason.setText("the paper report says 38")
    dialog.accept()
    assert dialog.result() == 1
    assert [c[1:4] for c in session.entries.corrections(record_id)] == [
        ("Value", "38", "the paper report says 38")
    ]


def test_controls_have_accessible_names(qtbot, session: Session) -> None:  # type: ignore[no-untyped-def]
    from PySide6.QtWidgets import QComboBox, QLineEdit, QPlainTextEdit

    for cls in (LabResultDialog, SpirometryDialog, MedicationDialog, ConditionDialog, NoteDialog,
                UploadDialog):  # fmt: skip
        dialog = cls(session)
        qtbot.addWidget(dialog)
        widgets = [
            w for t in (QLineEdit, QComboBox, QPlainTextEdit) for w in dialog.findChildren(t)
        ]
        for widget in widgets:
            if isinstance(widget, QLineEdit) and isinstance(widget.parent(), QComboBox):
                continue
            assert widget.accessibleName(), f"{cls.__name__}: {widget!r}"
