"""The emergency summary: one page, the facts a clinician needs, a QR code that decodes."""

from __future__ import annotations

from pathlib import Path

import pypdfium2
import pytest
from fhir.resources.R4B.bundle import Bundle
from pypdf import PdfReader

from phr_desktop.interop.emergency.facts import emergency_facts
from phr_desktop.interop.emergency.fhir_document import qr_payload
from phr_desktop.interop.emergency.summary import write_emergency_pdf
from phr_desktop.interop.export_data import ExportData
from phr_desktop.services.exporting import build_export_data
from phr_desktop.services.session import Session


@pytest.fixture
def data(session: Session, demo_files: list[Path]) -> ExportData:
    session.import_paths(demo_files)
    # As `phr export --format emergency` builds it: every source's record, which the summary
    # merges itself (one allergy line with every source's reaction).
    return build_export_data(session, every_source=True)


@pytest.mark.parametrize("layout", ["page", "wallet"])
def test_summary_is_one_page_with_the_key_facts(
    data: ExportData, tmp_path: Path, layout: str
) -> None:
    path = tmp_path / f"emergency-{layout}.pdf"
    write_emergency_pdf(data, path, layout=layout)  # type: ignore[arg-type]
    reader = PdfReader(path)
    assert len(reader.pages) == 1
    text = " ".join(reader.pages[0].extract_text().split())
    for fact in ("Margaret Ellen Doyle", "Pi*ZZ", "Zemaira", "Penicillin", "1.17 L", "2.02 L"):
        assert fact in text
    assert "91 mg/dL" in text  # the latest AAT level (2024-06-13)
    assert "Patrick J. Doyle" in text  # the emergency contact from Patient.contact


def test_page_lists_care_team_and_allergy_reaction(data: ExportData, tmp_path: Path) -> None:
    path = tmp_path / "emergency.pdf"
    write_emergency_pdf(data, path)
    text = " ".join(PdfReader(path).pages[0].extract_text().split())
    assert "Daniel R. Okafor, MD" in text and "Hives" in text
    assert "(217) 555-0162" in text


@pytest.mark.parametrize("layout", ["page", "wallet"])
def test_qr_code_decodes_to_a_valid_fhir_document(
    data: ExportData, tmp_path: Path, layout: str
) -> None:
    import zxingcpp

    path = tmp_path / "emergency.pdf"
    write_emergency_pdf(data, path, layout=layout)  # type: ignore[arg-type]
    image = pypdfium2.PdfDocument(str(path))[0].render(scale=300 / 72).to_pil()
    found = zxingcpp.read_barcodes(image)
    assert len(found) == 1
    expected = qr_payload(emergency_facts(data)).text
    assert found[0].text == expected
    bundle = Bundle.model_validate_json(found[0].text)
    assert bundle.type == "document"
    kinds = [e.resource.get_resource_type() for e in bundle.entry]
    assert kinds[:2] == ["Composition", "Patient"]
    assert "Condition" in kinds and "AllergyIntolerance" in kinds
    assert "Pi*ZZ" in found[0].text and "Penicillin" in found[0].text


def test_facts_pick_baseline_and_latest_from_one_fev1_series(data: ExportData) -> None:
    facts = emergency_facts(data)
    assert facts.fev1_baseline is not None and facts.fev1_baseline.value == 2.02
    assert facts.fev1_latest is not None and facts.fev1_latest.value == 1.17
    assert facts.genotype == "Pi*ZZ"
    assert [a.text for a in facts.allergies].count("Penicillin") == 1  # two sources, one line


def test_summary_of_an_empty_profile_says_not_recorded(session: Session, tmp_path: Path) -> None:
    path = tmp_path / "empty.pdf"
    write_emergency_pdf(build_export_data(session), path)
    text = PdfReader(path).pages[0].extract_text()
    assert len(PdfReader(path).pages) == 1
    assert "not recorded" in text
