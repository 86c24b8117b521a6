"""The record detail: values, trend, related records, notes, corrections, files and source."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from phr_desktop.services.demo import open_demo
from phr_desktop.services.profiles import Profiles
from phr_desktop.services.session import Session
from phr_desktop.ui.record import files_tab as record_files_tab
from phr_desktop.ui.record.detail import RecordDetailView, pretty_json

VENDORS = Path(__file__).parents[1] / "data" / "ccda" / "vendors"


@pytest.fixture
def demo(profiles: Profiles, fast_kdf: None) -> Iterator[Session]:
    session, _created = open_demo(profiles)
    with session:
        yield session


def _id(session: Session, resource_id: str) -> int:
    return next(s.id for s in session.records() if s.record.resource_id == resource_id)


@pytest.fixture
def detail(qtbot, demo: Session) -> RecordDetailView:  # type: ignore[no-untyped-def]
    view = RecordDetailView(demo)
    qtbot.addWidget(view)
    return view


def test_the_demo_fev1_detail_charts_all_18_results(
    detail: RecordDetailView, demo: Session
) -> None:
    detail.show_record(_id(demo, "rp-obs-fev1-2025-06"))
    assert detail.title.text() == "FEV1"
    assert detail.fields["Value"].text() == "1.17 L"
    assert detail.fields["Source system"].text() == "Riverside Pulmonary (Epic)"
    assert "LOINC 20150-9" in detail.fields["Codes"].text()
    assert detail.chart.point_count() == 18
    assert detail.shared_label.text() == "Not shared with anyone."


def test_an_abnormal_result_shows_its_range_and_flag(
    detail: RecordDetailView, demo: Session
) -> None:
    detail.show_record(_id(demo, "rp-obs-fev1fvc-2025-06"))
    assert detail.fields["Reference range"].text() == "≥ 70 %"
    assert detail.fields["Flag"].text() == "↓ Below the range"
    assert detail.fields["Interpretation"].text() == "Low"  # the lab's "L", in words
    assert detail.fields["Status"].isHidden()  # "final": nothing a patient reads from it


def test_related_records_are_listed_and_reemitted_when_opened(
    qtbot, detail: RecordDetailView, demo: Session
) -> None:  # type: ignore[no-untyped-def]
    detail.show_record(_id(demo, "rp-obs-fev1-2025-06"))
    same_test = detail.related_lists["same_test"]
    same_visit = detail.related_lists["same_encounter"]
    assert same_test.count() == 17
    assert any("FEV1 % predicted" in same_visit.item(i).text() for i in range(same_visit.count()))
    with qtbot.waitSignal(detail.recordActivated) as signal:
        same_test.itemActivated.emit(same_test.item(0))
    assert signal.args == [_id(demo, "rp-obs-fev1-2024-06")]


def test_adding_a_note_shows_it_and_it_persists(
    qtbot, detail: RecordDetailView, demo: Session
) -> None:  # type: ignore[no-untyped-def]
    record_id = _id(demo, "rp-obs-fev1-2025-06")
    detail.show_record(record_id)
    detail.note_edit.setPlainText("Felt breathless on the stairs that week.")
    with qtbot.waitSignal(detail.recordEdited):
        detail.add_note_button.click()
    assert "Felt breathless" in detail.notes_list.item(0).text()
    assert detail.note_edit.toPlainText() == ""
    assert [text for _i, text, _at in demo.notes(record_id)] == [
        "Felt breathless on the stairs that week."
    ]
    detail.clear()
    detail.show_record(record_id)
    assert detail.notes_list.count() == 1


def test_an_empty_note_is_refused_with_a_message(detail: RecordDetailView, demo: Session) -> None:
    detail.show_record(_id(demo, "rp-obs-fev1-2025-06"))
    detail.add_note_button.click()
    assert detail.note_error.text() == "A note needs some text."
    assert detail.notes_list.count() == 0


def test_corrections_are_listed_beside_the_record(detail: RecordDetailView, demo: Session) -> None:
    record_id = _id(demo, "rp-obs-fev1-2025-06")
    demo.entries.add_correction(record_id, "Value", "1.19", "the printed report says 1.19")
    detail.show_record(record_id)
    assert (
        detail.corrections_list.item(0)
        .text()
        .endswith("Value should be “1.19” — the printed report says 1.19")
    )
    assert detail.fields["Value"].text() == "1.17 L"  # the source record is never overwritten


def test_data_quality_problems_are_shown(detail: RecordDetailView, demo: Session) -> None:
    detail.show_record(_id(demo, "lh-obs-alt-2020-11"))
    assert not detail.quality.isHidden()
    assert "missing status" in detail.quality.text()
    detail.show_record(_id(demo, "rp-obs-fev1-2025-06"))
    assert detail.quality.isHidden()


def test_the_source_tab_shows_the_raw_resource_with_its_numbers_as_written(
    detail: RecordDetailView, demo: Session
) -> None:
    record_id = _id(demo, "rp-obs-fev1-2017-05")
    detail.show_record(record_id)
    text = detail.source_text.toPlainText()
    assert '"value": 1.50' in text  # the file's trailing zero survives
    assert json.loads(text) == json.loads(demo.raw_source(record_id))
    assert (
        pretty_json(b'{"a":[],"b":{},"c":"x, {y}"}')
        == '{\n  "a": [],\n  "b": {},\n  "c": "x, {y}"\n}'
    )


def test_an_uploaded_file_opens_from_a_private_temp_copy_that_is_deleted_on_clear(
    detail: RecordDetailView, demo: Session, tmp_path: Path, monkeypatch
) -> None:  # type: ignore[no-untyped-def]
    opened: list[str] = []
    monkeypatch.setattr(
        record_files_tab.QDesktopServices, "openUrl", lambda url: opened.append(url.toLocalFile())
    )
    letter = tmp_path / "clinic-letter.pdf"
    letter.write_bytes(b"%PDF-1.4 a letter")
    record_id = demo.entries.upload_document(letter, "Clinic letter", "2024-05-01")
    detail.show_record(record_id)
    assert detail.files_list.count() == 1 and detail.open_button.isEnabled()
    copy = detail.open_attachment()
    assert copy is not None and opened == [str(copy)]
    assert copy.read_bytes() == b"%PDF-1.4 a letter"
    assert copy.stat().st_mode & 0o077 == 0
    saved = tmp_path / "saved.pdf"
    detail.save_attachment(saved)
    assert saved.read_bytes() == b"%PDF-1.4 a letter"
    detail.clear()
    assert not copy.exists()
    assert detail.stack.currentIndex() == 0


def test_a_nul_or_a_folder_in_a_stored_file_name_opens_and_saves_safely(
    detail: RecordDetailView, demo: Session, tmp_path: Path, monkeypatch
) -> None:  # type: ignore[no-untyped-def]
    # A synced document's title becomes its file name; a server may send anything in it.
    monkeypatch.setattr(record_files_tab.QDesktopServices, "openUrl", lambda _url: True)
    letter = tmp_path / "letter.pdf"
    letter.write_bytes(b"%PDF-1.4 a letter")
    record_id = demo.entries.upload_document(letter, "Clinic letter", "2024-05-01")
    with demo.write_lock:
        demo.vault.conn.execute(
            "UPDATE attachments SET filename = ? WHERE record_id = ?",
            ("../../clinic\x00letter\n.pdf", record_id),
        )
    detail.show_record(record_id)
    copy = detail.open_attachment()
    assert copy is not None and copy.name.endswith("clinic letter .pdf")
    assert copy.parent.name.startswith("phr-open-") and copy.read_bytes() == b"%PDF-1.4 a letter"
    saved = tmp_path / "saved.pdf"
    detail.save_attachment(saved)
    assert saved.read_bytes() == b"%PDF-1.4 a letter" and saved.stat().st_mode & 0o077 == 0
    detail.clear()


def test_an_imported_documents_narrative_is_shown_as_its_text(
    detail: RecordDetailView, demo: Session
) -> None:
    # This HIE document lists six immunizations in its table but codes only one of them.
    # Another patient's document, confirmed as the demo patient's (--same-person).
    demo.import_paths([VENDORS / "healtheconnectak-ccd-20210226.2.xml"], same_person=True)
    (found,) = demo.search("Menactra")
    detail.show_record(found.id)
    assert detail.text_box.isVisibleTo(detail)
    assert "Menactra" in detail.text_view.toPlainText()
    fev1 = _id(demo, "rp-obs-fev1-2025-06")  # the lab's own note is its text
    detail.show_record(fev1)
    assert detail.text_view.toPlainText().startswith("Post-bronchodilator")
    wordless = next(s.id for s in demo.records() if not demo.record_text(s.id))
    detail.show_record(wordless)
    assert not detail.text_box.isVisibleTo(detail)
    assert detail.text_view.toPlainText() == ""


def test_patient_details_show_born_with_age_and_sex_not_date_and_status(
    detail: RecordDetailView, demo: Session
) -> None:
    from datetime import date

    from phr_desktop.services.patient_facts import age_on
    from phr_desktop.services.session import RecordFilter

    patient = demo.records(RecordFilter(kinds=("patient",)))[0]
    detail.show_record(patient.id)
    form = detail._form
    labels = {name: form.labelForField(detail.fields[name]).text() for name in ("Date", "Status")}
    assert labels == {"Date": "Born:", "Status": "Sex:"}
    born = patient.record.effective
    assert born is not None
    expected_age = age_on(born, date.today())
    assert detail.fields["Date"].text().endswith(f"(age {expected_age})")
    assert detail.fields["Status"].text() == "Female"
    # another record: the rows are Date and Status again
    detail.show_record(_id(demo, "rp-obs-fev1-2025-06"))
    assert form.labelForField(detail.fields["Date"]).text() == "Date:"


def test_age_counts_whole_years_from_a_partial_birth_date() -> None:
    from datetime import date

    from phr_desktop.domain.records import parse_partial_date
    from phr_desktop.services.patient_facts import age_on

    born = parse_partial_date("1968-03-14")
    assert born is not None
    assert age_on(born, date(2026, 3, 13)) == 57
    assert age_on(born, date(2026, 3, 14)) == 58
    year_only = parse_partial_date("1968")
    assert year_only is not None and age_on(year_only, date(2026, 1, 1)) == 58


def test_an_aat_level_tells_one_story_protective_level_and_lab_range_together(
    detail: RecordDetailView, demo: Session
) -> None:
    """91 mg/dL on a 100–200 range: not a red "below the range" beside a green "above
    protective", but one sentence, unflagged."""
    from phr_desktop.services.aat_reading import aat_reading
    from phr_desktop.services.session import RecordFilter

    levels = [
        s for s in demo.records(RecordFilter(tag="aatd", kinds=("lab_result",)))
        if aat_reading(s.record) is not None
    ]  # fmt: skip
    between = next(
        s for s in levels
        if s.record.reference_range and s.record.reference_range.low
        and 57 <= s.record.value.value < s.record.reference_range.low  # type: ignore[union-attr]
    )  # fmt: skip
    detail.show_record(between.id)
    flag = detail.fields["Flag"].text()
    assert flag.startswith("Above the protective level of 57 mg/dL (11 µM)")
    assert "below the lab's usual range" in flag
    assert detail.fields["Value"].styleSheet() == ""  # not red
    below = next(s for s in levels if s.record.value.value < 57)  # type: ignore[union-attr]
    detail.show_record(below.id)
    assert detail.fields["Flag"].text().startswith("↓ Below the protective level")
    assert "color" in detail.fields["Value"].styleSheet()


IMAGING = Path(__file__).parents[1] / "data" / "imaging" / "chest-ct-bundle.json"


def test_an_imaging_study_shows_modality_site_size_people_and_opens_its_report(
    qtbot, detail: RecordDetailView, demo: Session
) -> None:
    demo.import_paths([IMAGING])
    detail.show_record(_id(demo, "ct-chest-2024"))
    assert detail.title.text() == "CT scan of the thorax"
    rows = detail.context_rows.fields
    assert rows["Modality"].text() == "CT scan"
    assert rows["Body site"].text() == "Thorax"
    assert rows["Series and images"].text() == "2 series, 310 images"
    assert rows["Ordered by"].text() == "Dr Daniel R. Okafor"  # the stored Practitioner
    assert rows["Performed by"].text() == "Ana Ruiz, RT(R)"  # contained in the study
    assert rows["Interpreted by"].text() == "Dr Lena Marsh, Radiology"
    assert "CT chest report" in rows["Linked"].text()
    report_id = _id(demo, "ct-chest-report")
    with qtbot.waitSignal(detail.recordActivated) as opened:
        rows["Linked"].linkActivated.emit(f"record:{report_id}")
    assert opened.args == [report_id]
    detail.show_record(report_id)
    assert "CT scan of the thorax" in rows["Linked"].text()
    assert detail.context_rows._form.labelForField(rows["Linked"]).text() == "Imaging study:"
    assert not detail.context_rows._form.isRowVisible(rows["Modality"])


def test_the_ordering_provider_is_shown_where_the_source_names_one(
    detail: RecordDetailView, demo: Session
) -> None:
    detail.show_record(_id(demo, "rp-medreq-tiotropium"))
    assert detail.fields["Status"].text()  # the usual fields are still there
    assert detail.context_rows.fields["Ordered by"].text() == "Daniel R. Okafor, MD"
    # The prescriber, once: not again as the "Facility".
    assert not detail._form.isRowVisible(detail.fields["Facility"])
