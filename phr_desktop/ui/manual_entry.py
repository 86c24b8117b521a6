"""Dialogs for the patient's own entries: results, spirometry, medicines, conditions, notes, files.

Each dialog checks what it can, lets the service decide the rest, and shows the service's
message inline instead of closing; after acceptance `saved_ids` holds the new record ids.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtWidgets import (
    QAbstractButton,
    QButtonGroup,
    QComboBox,
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QPushButton,
    QRadioButton,
    QWidget,
)

from phr_desktop.services.entry_names import (
    ICD10,
    RXNORM,
    SNOMED,
    NamedCode,
    condition_names,
    genotype_choices,
    medicine_names,
    test_names,
)
from phr_desktop.services.entry_names import LOINC as LOINC_SYSTEM
from phr_desktop.services.session import Session
from phr_desktop.ui.entry_form import EntryDialog, Invalid
from phr_desktop.ui.entry_lookup import AdvancedRows, attach_name_lookup
from phr_desktop.ui.timeline.model import format_date, format_reference_range

AUGMENTATION_PRODUCTS = ("Zemaira", "Prolastin-C Liquid", "Aralast NP", "Glassia")
UPLOAD_FILTER = "PDF and images (*.pdf *.png *.jpg *.jpeg *.tif *.tiff *.heic)"
MEDICINE_NAME_CHARS = 28  # "Prolastin-C Liquid 60 mg/kg" and most brand + strength names
CORRECTABLE_FIELDS = ("Value", "Unit", "Date", "Title", "Reference range", "Status", "Other")


class LabResultDialog(EntryDialog):
    def __init__(self, session: Session, parent: QWidget | None = None) -> None:
        super().__init__(session, "Add a test result", parent)
        self.test_name = self._line("Test:", "type a name, e.g. antitrypsin or ALT")
        self.value = self._line("Result:", "e.g. 22")
        self.unit = self._line("Unit:", "e.g. mg/dL")
        self.date = self._date()
        self.low = self._line("Range from:", "optional")
        self.high = self._line("Range to:", "optional")
        self.loinc = self._line("LOINC code:", "filled in when you pick a test")
        self.advanced = AdvancedRows(self.form, self, [self.loinc])
        attach_name_lookup(self.test_name, test_names(session), self._test_chosen)

    def _test_chosen(self, test: NamedCode) -> None:
        self.loinc.setText(test.code(LOINC_SYSTEM) or "")
        if test.unit and not self.unit.text().strip():
            self.unit.setText(test.unit)

    def _save(self) -> list[int]:
        value = self._number(self.value, "result")
        assert value is not None
        return [
            self.session.entries.add_lab_result(
                self.test_name.text(), value, self.unit.text(), self._checked_date(self.date),
                loinc=self.loinc.text().strip() or None,
                low=self._number(self.low, "lower limit", required=False),
                high=self._number(self.high, "upper limit", required=False),
            )
        ]  # fmt: skip


class SpirometryDialog(EntryDialog):
    def __init__(self, session: Session, parent: QWidget | None = None) -> None:
        super().__init__(session, "Add a breathing test (spirometry)", parent)
        self.date = self._date()
        self.fev1 = self._line("FEV1 (litres):", "e.g. 1.45")
        self.fev1_percent = self._line("FEV1 % predicted:", "optional, e.g. 52")
        self.fvc = self._line("FVC (litres):", "optional, e.g. 2.80")

    def _save(self) -> list[int]:
        fev1 = self._number(self.fev1, "FEV1")
        assert fev1 is not None
        if not 0 < fev1 <= 10:
            raise Invalid("FEV1 is in litres and lies between 0 and 10.", self.fev1)
        return self.session.entries.add_spirometry(
            self._checked_date(self.date), fev1,
            fev1_percent_predicted=self._number(self.fev1_percent, "FEV1 %", required=False),
            fvc_litres=self._number(self.fvc, "FVC", required=False),
        )  # fmt: skip


class MedicationDialog(EntryDialog):
    """A medicine taken, or (in infusion mode) one entry of the augmentation infusion log."""

    def __init__(
        self, session: Session, parent: QWidget | None = None, *, infusion: bool = False
    ) -> None:
        super().__init__(session, "Add a medication", parent)
        self.as_medication = QRadioButton("A medicine I take", self)
        self.as_infusion = QRadioButton("An augmentation infusion I had", self)
        self.as_infusion.setAccessibleName("Infusion log entry")
        group = QButtonGroup(self)
        for button in (self.as_medication, self.as_infusion):
            group.addButton(button)
        modes = QHBoxLayout()
        modes.addWidget(self.as_medication)
        modes.addWidget(self.as_infusion)
        self.form.addRow("Entry:", modes)
        self.name = QComboBox(self)
        self.name.setEditable(True)
        self.name.setAccessibleName("Medicine")
        self.name.setMinimumContentsLength(MEDICINE_NAME_CHARS)
        self.name.setSizeAdjustPolicy(
            QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon
        )
        editor = self.name.lineEdit()
        assert editor is not None  # an editable combo box always has one
        editor.setPlaceholderText("e.g. Tiotropium")
        self.form.addRow("Medicine:", self.name)
        self.date = self._date("Started:")
        self.dose_text = self._line("Dose:", "optional, e.g. 18 mcg once a day")
        self.dose = self._line("Dose:", "e.g. 60")
        self.dose_unit = QComboBox(self)
        self.dose_unit.setEditable(True)
        self.dose_unit.addItems(["mg/kg", "mg", "g"])
        self.dose_unit.setAccessibleName("Dose unit")
        self.form.addRow("Dose unit:", self.dose_unit)
        self.rxnorm = self._line("RxNorm code:", "filled in when you pick a medicine")
        self.advanced = AdvancedRows(self.form, self, [self.rxnorm])
        self.advanced.toggle.toggled.connect(self._mode_changed)
        attach_name_lookup(editor, medicine_names(session), self._medicine_chosen)
        group.buttonToggled.connect(self._mode_toggled)
        (self.as_infusion if infusion else self.as_medication).setChecked(True)
        self._mode_changed()

    def _medicine_chosen(self, medicine: NamedCode) -> None:
        self.rxnorm.setText(medicine.code(RXNORM) or "")

    def _mode_toggled(self, _button: QAbstractButton, _checked: bool) -> None:
        self._mode_changed()

    def _mode_changed(self, _advanced: bool = False) -> None:
        infusion = self.as_infusion.isChecked()
        self.setWindowTitle("Log an infusion" if infusion else "Add a medication")
        current = self.name.currentText()
        self.name.clear()
        if infusion:
            self.name.addItems(AUGMENTATION_PRODUCTS)
        self.name.setCurrentText(current if current or not infusion else AUGMENTATION_PRODUCTS[0])
        date_label = self.form.labelForField(self.date)
        assert isinstance(date_label, QLabel)  # added by addRow with a text label
        date_label.setText("Given on:" if infusion else "Started:")
        for widget, shown in (
            (self.dose_text, not infusion),
            (self.rxnorm, not infusion and self.advanced.visible()),
            (self.dose, infusion), (self.dose_unit, infusion),
        ):  # fmt: skip
            self.form.setRowVisible(widget, shown)

    def _save(self) -> list[int]:
        date = self._checked_date(self.date)
        if self.as_infusion.isChecked():
            dose = self._number(self.dose, "dose")
            assert dose is not None
            unit = self.dose_unit.currentText().strip() or "mg/kg"
            return [self.session.entries.add_infusion(self.name.currentText(), date, dose, unit)]
        return [
            self.session.entries.add_medication(
                self.name.currentText(), date, dose=self.dose_text.text().strip() or None,
                rxnorm=self.rxnorm.text().strip() or None,
            )
        ]  # fmt: skip


class ConditionDialog(EntryDialog):
    def __init__(self, session: Session, parent: QWidget | None = None) -> None:
        super().__init__(session, "Add a condition", parent)
        self.name = self._line("Condition:", "type a name, e.g. emphysema or asthma")
        self.onset = self._date("Since:")
        self.icd10 = self._line("ICD-10 code:", "filled in when you pick a condition")
        self.snomed = self._line("SNOMED CT code:", "filled in when you pick a condition")
        self.advanced = AdvancedRows(self.form, self, [self.icd10, self.snomed])
        attach_name_lookup(self.name, condition_names(session), self._condition_chosen)

    def _condition_chosen(self, condition: NamedCode) -> None:
        self.icd10.setText(condition.code(ICD10) or "")
        self.snomed.setText(condition.code(SNOMED) or "")

    def _save(self) -> list[int]:
        return [
            self.session.entries.add_condition(
                self.name.text(), self._checked_date(self.onset, "onset date"),
                icd10=self.icd10.text().strip() or None, snomed=self.snomed.text().strip() or None,
            )
        ]  # fmt: skip


class GenotypeDialog(EntryDialog):
    """The AAT genotype from a letter or a report: a recognised one from the list, or the
    words of the report typed as they are."""

    def __init__(self, session: Session, parent: QWidget | None = None) -> None:
        super().__init__(session, "Add the AAT genotype", parent)
        self.genotype = QComboBox(self)
        self.genotype.setEditable(True)
        self.genotype.setAccessibleName("Genotype")
        self.genotype.addItems(genotype_choices())
        self.genotype.setCurrentText("")
        editor = self.genotype.lineEdit()
        assert editor is not None  # an editable combo box always has one
        editor.setPlaceholderText("pick, e.g. Pi*ZZ, or type what the report says")
        self.form.addRow("Genotype:", self.genotype)
        self.date = self._date("Tested on:")

    def _save(self) -> list[int]:
        text = self.genotype.currentText().strip()
        if not text:
            raise Invalid("Pick the genotype or type what the report says.", self.genotype)
        date = self._checked_date(self.date)
        return [self.session.entries.add_genotype(text, date)]


class NoteDialog(EntryDialog):
    """A note of the patient's own, standing alone on the timeline (not attached to a record)."""

    def __init__(self, session: Session, parent: QWidget | None = None) -> None:
        super().__init__(session, "Write a note", parent)
        self.title = self._line("Title:", "", "My note")
        self.date = self._date()
        self.text = QPlainTextEdit(self)
        self.text.setAccessibleName("Note")
        self.text.setPlaceholderText("What happened, how you felt, questions for your clinician…")
        self.text.setTabChangesFocus(True)
        self.form.addRow("Note:", self.text)

    def _save(self) -> list[int]:
        return [
            self.session.entries.add_note(
                self.text.toPlainText(),
                self._checked_date(self.date),
                self.title.text().strip() or "My note",
            )
        ]


class UploadDialog(EntryDialog):
    """Keep a PDF or an image (a letter, a scan) in the vault."""

    def __init__(self, session: Session, parent: QWidget | None = None) -> None:
        super().__init__(session, "Add a document", parent)
        self.path = QLineEdit(self)
        self.path.setAccessibleName("File")
        self.path.setPlaceholderText("A PDF or an image")
        self.browse = QPushButton("Browse…", self)
        self.browse.setAccessibleName("Choose a file")
        self.browse.clicked.connect(self._choose)
        row = QHBoxLayout()
        row.addWidget(self.path, 1)
        row.addWidget(self.browse)
        self.form.addRow("File:", row)
        self.title = self._line("Title:", "e.g. Clinic letter")
        self.date = self._date()

    def _choose(self) -> None:
        chosen, _ = QFileDialog.getOpenFileName(self, "Choose a document", "", UPLOAD_FILTER)
        if chosen:
            self.set_file(Path(chosen))

    def set_file(self, path: Path) -> None:
        self.path.setText(str(path))
        if not self.title.text().strip():
            self.title.setText(path.stem.replace("_", " ").replace("-", " ").strip())

    def _save(self) -> list[int]:
        text = self.path.text().strip()
        if not text:
            raise Invalid("Choose a file to add.", self.path)
        date = self._checked_date(self.date)
        return [self.session.entries.upload_document(Path(text), self.title.text(), date)]


class CorrectionDialog(EntryDialog):
    """“This is wrong”: the correction is kept beside the record, which stays as it came."""

    def __init__(self, session: Session, record_id: int, parent: QWidget | None = None) -> None:
        super().__init__(session, "Correct this record", parent)
        self.record_id = record_id
        self.stored = session.record(record_id)
        source = self.stored.record.source_system or "its source"
        intro = QLabel(
            f"“{self.stored.record.title}” stays as {source} sent it; "
            "your correction is shown beside it.",
            self,
        )
        intro.setWordWrap(True)
        self.form.addRow(intro)
        self.field = QComboBox(self)
        self.field.setEditable(True)
        self.field.addItems(CORRECTABLE_FIELDS)
        self.field.setAccessibleName("What is wrong")
        self.form.addRow("What is wrong:", self.field)
        self.current = QLabel(self)
        self.current.setAccessibleName("Current value")
        self.form.addRow("It says:", self.current)
        self.value = self._line("It should be:", "the correct detail")
        self.reason = self._line("Why (optional):", "e.g. the lab report says 1.45")
        self.field.currentTextChanged.connect(self._show_current)
        self._show_current(self.field.currentText())

    def _show_current(self, field: str) -> None:
        r = self.stored.record
        value = r.value
        current = {
            "Value": (f"{value.value:g}" if value and value.value is not None else value.text or "")
            if value
            else "",
            "Unit": value.unit or "" if value else "",
            "Date": format_date(r.effective, with_time=True),
            "Title": r.title,
            "Reference range": format_reference_range(r),
            "Status": r.status or "",
        }.get(field, "")
        self.current.setText(current or "—")

    def _save(self) -> list[int]:
        return [
            self.session.entries.add_correction(
                self.record_id, self.field.currentText(), self.value.text(), self.reason.text()
            )
        ]
