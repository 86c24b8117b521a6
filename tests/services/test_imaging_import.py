"""An imaging study imported from a FHIR file: kept raw, shown as imaging, found by search,
and carried by every export without breaking it."""

from __future__ import annotations

from pathlib import Path

import pytest

from phr_desktop.services.exporting import FORMATS, export
from phr_desktop.services.session import Session
from tests.interop.cda_schema_support import schema_errors, schema_summary

IMAGING = Path(__file__).parents[1] / "data" / "imaging" / "chest-ct-bundle.json"


@pytest.fixture
def imported(session: Session) -> Session:
    session.import_paths([IMAGING])
    return session


def test_an_imported_study_is_an_imaging_record_found_by_what_it_shows(imported: Session) -> None:
    studies = [s for s in imported.records() if s.record.resource_type == "ImagingStudy"]
    assert len(studies) == 1
    assert imported.counts_by_kind()["imaging"] == 2  # the study and its radiology report
    found = {s.record.resource_id for s in imported.search("thorax")}
    assert "ct-chest-2024" in found
    context = imported.context(studies[0].id)
    assert context.imaging is not None and context.imaging.modalities == ("CT scan",)
    assert [s.record.resource_id for s in context.linked] == ["ct-chest-report"]


def test_a_report_links_back_to_the_study_it_reads(imported: Session) -> None:
    report = next(s for s in imported.records() if s.record.resource_id == "ct-chest-report")
    context = imported.context(report.id)
    assert context.imaging is None
    assert [s.record.resource_id for s in context.linked] == ["ct-chest-2024"]


@pytest.mark.parametrize("fmt", [f for f in FORMATS if f != "csv"])
def test_every_export_takes_a_record_with_an_imaging_study(
    imported: Session, tmp_path: Path, fmt: str
) -> None:
    target = tmp_path / f"out.{fmt}"
    export(imported, fmt, target)
    assert target.stat().st_size > 0


def test_the_ccd_names_a_study_modality_by_the_dicom_code_system_oid(
    imported: Session, tmp_path: Path
) -> None:
    target = tmp_path / "ccd.xml"
    export(imported, "ccda", target)
    text = target.read_text()
    errors = schema_errors(target.read_bytes())
    assert not errors, schema_summary(errors)  # still valid against CDA_SDTC.xsd
    assert 'code="CT" codeSystem="1.2.840.10008.2.16.4" codeSystemName="DCM"' in text
    assert "CT scan of the thorax" in text
