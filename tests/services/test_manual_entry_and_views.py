"""The patient's own entries, uploads and corrections; trends and related records."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from phr_desktop.services.errors import ServiceError
from phr_desktop.services.session import Session


def test_a_manual_lab_result_becomes_a_record_from_my_entries(session: Session) -> None:
    record_id = session.entries.add_lab_result(
        "Alpha-1 antitrypsin", 24, "mg/dL", "2024-05-02", loinc="1825-9", low=100, high=200
    )
    stored = session.record(record_id)
    assert stored.record.source_system == "Entered by me"
    assert stored.record.value and stored.record.value.value == 24
    assert "aatd" in stored.record.tags
    body = session.raw_source(record_id)
    assert b'"resourceType":"Observation"' in body


def test_spirometry_infusion_medication_condition_and_note(session: Session) -> None:
    ids = session.entries.add_spirometry(
        "2024-06-01", 1.2, fev1_percent_predicted=45, fvc_litres=2.6
    )
    assert len(ids) == 3
    infusion = session.record(session.entries.add_infusion("Zemaira", "2024-06-06", 60))
    assert "augmentation" in infusion.record.tags and infusion.record.category == "administration"
    med = session.record(session.entries.add_medication("Tiotropium", "2020-01", dose="2 puffs"))
    assert med.record.effective and med.record.effective.text == "2020-01"
    condition = session.record(session.entries.add_condition("AATD", "2014", icd10="E88.01"))
    assert "aatd" in condition.record.tags
    note = session.entries.add_note("Breathless on the stairs today", "2024-06-02")
    assert note in [s.id for s in session.search("breathless stairs")]


def test_bad_entries_are_refused_with_a_message_and_nothing_stored(session: Session) -> None:
    with pytest.raises(ServiceError, match="not a date"):
        session.entries.add_lab_result("AAT", 20, "mg/dL", "yesterday")
    with pytest.raises(ServiceError, match="number"):
        session.entries.add_lab_result("AAT", float("nan"), "mg/dL", "2024-01-01")
    with pytest.raises(ServiceError, match="name"):
        session.entries.add_medication(" ", "2024-01-01")
    assert session.counts_by_kind() == {}


def test_an_uploaded_pdf_is_kept_in_the_vault(session: Session, tmp_path: Path) -> None:
    pdf = tmp_path / "spirometry-2024.pdf"
    pdf.write_bytes(b"%PDF-1.4\n% a tiny test file\n")
    record_id = session.entries.upload_document(pdf, "Spirometry report", "2024-06-01")
    ((attachment_id, name, content_type, size),) = session.attachments(record_id)
    assert (name, content_type, size) == (
        "spirometry-2024.pdf",
        "application/pdf",
        pdf.stat().st_size,
    )
    assert session.attachment_data(attachment_id) == pdf.read_bytes()
    assert session.record(record_id).record.source_system == "Uploaded by me"
    exe = tmp_path / "setup.exe"
    exe.write_bytes(b"MZ")
    with pytest.raises(ServiceError, match="not a PDF"):
        session.entries.upload_document(exe, "x", "2024-01-01")


def test_a_correction_is_kept_beside_the_imported_record(
    session: Session, demo_files: list[Path]
) -> None:
    session.import_paths(demo_files)
    (fev1,) = [s for s in session.records() if s.record.resource_id == "rp-obs-fev1-2017-05"]
    before = session.raw_source(fev1.id)
    session.entries.add_correction(fev1.id, "value", "1.55 L", "the lab's printout says 1.55")
    ((_, field, value, reason, _),) = session.entries.corrections(fev1.id)
    assert (field, value, reason) == ("value", "1.55 L", "the lab's printout says 1.55")
    assert session.raw_source(fev1.id) == before  # the original is untouched


def test_the_fev1_trend_is_in_litres_with_every_demo_result(
    session: Session, demo_files: list[Path]
) -> None:
    session.import_paths(demo_files)
    (fev1,) = [s for s in session.records() if s.record.resource_id == "rp-obs-fev1-2017-05"]
    view = session.views.trend(fev1.id)
    assert view.trend.unit == "L" and len(view.trend.points) == 18
    assert view.current_index is not None and view.trend.points[view.current_index].value == 1.5
    dates = [p.date.sort_key for p in view.trend.points]
    assert dates == sorted(dates)
    assert view.trend.slope_per_year() is not None and view.trend.slope_per_year() < 0


def test_the_aat_trend_is_in_mg_dl_with_the_protective_threshold(
    session: Session, demo_files: list[Path]
) -> None:
    session.import_paths(demo_files)
    overview = session.views.aatd_overview()
    assert overview.aat and overview.aat.trend.unit == "mg/dL"
    assert overview.aat.trend.threshold == 57.0
    assert overview.genotype == "Pi*ZZ"
    assert len(overview.infusions) == 125
    assert overview.fev1 and len(overview.fev1.trend.points) == 18


def test_related_records_share_the_test_the_day_or_the_visit(
    session: Session, demo_files: list[Path]
) -> None:
    session.import_paths(demo_files)
    (fev1,) = [s for s in session.records() if s.record.resource_id == "rp-obs-fev1-2017-05"]
    related = session.views.related(fev1.id)
    assert len(related.same_test) == 17
    assert any(s.record.resource_id == "rp-obs-fvc-2017-05" for s in related.same_day)


def test_ids_first_then_records_on_demand(session: Session, demo_files: list[Path]) -> None:
    session.import_paths(demo_files)
    ids = session.record_ids()
    assert len(ids) == sum(session.counts_by_kind().values())
    page = session.records_by_ids(ids[10:20])
    assert [s.id for s in page] == ids[10:20]
    assert session.source_systems() == [
        "Lakeside Hepatology (Cerner)",
        "Riverside Pulmonary (Epic)",
    ]
    assert {"aatd", "lung_function", "liver", "augmentation"} <= set(session.tags())


def test_records_read_without_tags_are_the_same_records_but_for_their_tags(
    session: Session, demo_files: list[Path]
) -> None:
    """The exports read records without their tags (they never show them): everything else
    they read is what the app shows."""
    session.import_paths(demo_files)
    ids = session.record_ids()
    full = session.records_by_ids(ids)
    bare = session.records_by_ids(ids, with_tags=False)
    assert any(s.record.tags for s in full)
    assert all(not s.record.tags for s in bare)
    assert [replace(s.record, tags=frozenset()) for s in full] == [s.record for s in bare]
    assert [s.sensitivity for s in full] == [s.sensitivity for s in bare]
