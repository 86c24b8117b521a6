"""Entry forms ask for names, not codes: the name box suggests tests, medicines and conditions
from the value sets, the AATD pack and the patient's own record, and fills the codes behind;
code fields stay under "Show the codes (advanced)"."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from phr_desktop.services.demo import open_demo
from phr_desktop.services.profiles import Profiles
from phr_desktop.services.session import Session
from phr_desktop.ui.manual_entry import ConditionDialog, LabResultDialog, MedicationDialog


@pytest.fixture
def demo(profiles: Profiles, fast_kdf: None) -> Iterator[Session]:
    session, _created = open_demo(profiles)
    with session:
        yield session


def suggestions(edit, typed: str) -> list[str]:  # type: ignore[no-untyped-def]
    completer = edit.completer()
    completer.setCompletionPrefix(typed)
    model = completer.completionModel()
    return [model.index(i, 0).data() for i in range(model.rowCount())]


def pick(edit, name: str) -> None:  # type: ignore[no-untyped-def]
    edit.setText(name)
    edit.editingFinished.emit()


def test_a_test_is_found_by_a_word_of_its_name_and_its_loinc_filled_behind(
    qtbot, demo: Session
) -> None:  # type: ignore[no-untyped-def]
    dialog = LabResultDialog(demo)
    qtbot.addWidget(dialog)
    dialog.show()
    assert "Alpha-1 antitrypsin (AAT) level" in suggestions(dialog.test_name, "antitrypsin")
    assert not dialog.loinc.isVisible()  # codes are advanced, out of the way
    pick(dialog.test_name, "Alpha-1 antitrypsin (AAT) level")
    assert dialog.loinc.text() == "1825-9" and dialog.unit.text() == "mg/dL"
    dialog.advanced.toggle.setChecked(True)
    assert dialog.loinc.isVisible()
    dialog.value.setText("94")
    dialog.accept()
    stored = demo.record(dialog.saved_ids[0]).record
    assert stored.has_code("http://loinc.org", "1825-9")


def test_a_medicine_from_the_record_brings_its_rxnorm_code(qtbot, demo: Session) -> None:  # type: ignore[no-untyped-def]
    dialog = MedicationDialog(demo)
    qtbot.addWidget(dialog)
    dialog.show()
    editor = dialog.name.lineEdit()
    assert "Albuterol HFA 90 mcg/actuation inhaler" in suggestions(editor, "albu")
    assert "Zemaira" in suggestions(editor, "zem")  # the AATD pack's augmentation brands
    pick(editor, "Albuterol HFA 90 mcg/actuation inhaler")
    assert dialog.rxnorm.text() == "435" and not dialog.rxnorm.isVisible()


def test_a_condition_by_name_fills_icd10_and_snomed(qtbot, demo: Session) -> None:  # type: ignore[no-untyped-def]
    dialog = ConditionDialog(demo)
    qtbot.addWidget(dialog)
    dialog.show()
    pick(dialog.name, "emphysema")  # any case
    assert (dialog.icd10.text(), dialog.snomed.text()) == ("J43", "87433001")
    assert not dialog.icd10.isVisible() and not dialog.snomed.isVisible()


def test_a_name_nobody_knows_is_kept_without_codes(qtbot, demo: Session) -> None:  # type: ignore[no-untyped-def]
    dialog = ConditionDialog(demo)
    qtbot.addWidget(dialog)
    pick(dialog.name, "Bird fancier's lung")
    assert dialog.icd10.text() == "" and dialog.snomed.text() == ""
