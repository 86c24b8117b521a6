"""What the CCD export must carry whole: doses, every coding with its OID, negation, statuses,
report panels, vital signs without a value, and notes (issue 12, items 6-9).

The fixture (tests/data/ccd_export/fidelity_patient.json) holds one record for each of these
cases; every document built here is also checked against HL7's CDA_SDTC.xsd.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest
from lxml import etree

from phr_desktop.domain.codes import SNOMED
from phr_desktop.domain.records import Code
from phr_desktop.interop.ccda.export import build_ccd
from phr_desktop.interop.ccda.export_values import coded
from phr_desktop.services.exporting import build_export_data
from phr_desktop.services.profiles import Profiles
from phr_desktop.services.session import Session
from tests.conftest import DATA, PASSPHRASE
from tests.interop.ccda_facts import difference, profile_facts
from tests.interop.cda_schema_support import schema_errors, schema_summary

FIDELITY_PATIENT = DATA / "ccd_export" / "fidelity_patient.json"
NS = {"v3": "urn:hl7-org:v3", "xsi": "http://www.w3.org/2001/XMLSchema-instance"}
XSI_TYPE = "{http://www.w3.org/2001/XMLSchema-instance}type"


@pytest.fixture
def ccd(session: Session) -> etree._Element:
    report = session.import_paths([FIDELITY_PATIENT])
    assert not report.failed, report.as_dict()
    document = build_ccd(build_export_data(session))
    errors = schema_errors(document)
    assert not errors, schema_summary(errors)
    return etree.fromstring(document)


def medication(ccd: etree._Element, rxnorm: str) -> etree._Element:
    (found,) = ccd.xpath(
        "//v3:substanceAdministration[v3:consumable//v3:manufacturedMaterial/v3:code"
        f"[@code='{rxnorm}']]",
        namespaces=NS,
    )
    return found


def test_the_dose_route_and_frequency_of_a_medication_come_from_its_stored_dosage_list(
    ccd: etree._Element,
) -> None:
    # The importer and FHIR servers store MedicationStatement.dosage as a list: before, every
    # dose in it was written doseQuantity nullFlavor="UNK".
    tiotropium = medication(ccd, "485032")
    dose = tiotropium.find("v3:doseQuantity", NS)
    assert (dose.get("value"), dose.get("unit"), dose.get("nullFlavor")) == ("18", "ug", None)
    route = tiotropium.find("v3:routeCode", NS)
    assert (route.get("code"), route.get("codeSystem")) == ("RESPINHL", "2.16.840.1.113883.5.112")
    (period,) = tiotropium.xpath("v3:effectiveTime[@xsi:type='PIVL_TS']/v3:period", namespaces=NS)
    assert (period.get("value"), period.get("unit")) == ("1", "d")
    prednisone = medication(ccd, "312615")
    (period,) = prednisone.xpath("v3:effectiveTime[@xsi:type='PIVL_TS']/v3:period", namespaces=NS)
    assert (period.get("value"), period.get("unit")) == ("8", "h")
    assert prednisone.find("v3:routeCode", NS).get("code") == "C38288"
    assert prednisone.find("v3:doseQuantity", NS).get("value") == "1"


def codings(element: etree._Element) -> list[tuple[str | None, str | None]]:
    return [(element.get("codeSystem"), element.get("code"))] + [
        (t.get("codeSystem"), t.get("code")) for t in element.iterfind("v3:translation", NS)
    ]


def test_every_coding_goes_out_with_its_oid_translations_included(ccd: etree._Element) -> None:
    # CPT, ICD-9-CM, NDC, HCPCS, FDB and local codes were written nullFlavor="OTH" or dropped.
    material = medication(ccd, "312615").find(".//v3:manufacturedMaterial/v3:code", NS)
    assert codings(material) == [
        ("2.16.840.1.113883.6.88", "312615"),  # RxNorm
        ("2.16.840.1.113883.6.69", "00054001820"),  # NDC
        ("2.16.840.1.113883.6.208", "224872"),  # FDB, kept by its OID
    ]
    (procedure,) = ccd.xpath("//v3:procedure/v3:code[@code='31622']", namespaces=NS)
    assert codings(procedure) == [
        ("2.16.840.1.113883.6.12", "31622"),  # CPT-4
        ("2.16.840.1.113883.6.285", "G0500"),  # HCPCS
    ]
    (problem,) = ccd.xpath("//v3:observation/v3:value[@code='496']", namespaces=NS)
    assert codings(problem) == [
        ("2.16.840.1.113883.6.103", "496"),  # ICD-9-CM
        ("1.2.3.4.5.6.7", "LOCAL-17"),  # a local code system, by the OID the source gave
    ]
    assert problem.findtext("v3:originalText", namespaces=NS) == "COPD"
    assert not ccd.xpath("//*[@nullFlavor='OTH'][v3:translation]", namespaces=NS)


def test_not_taken_not_done_and_refuted_records_go_out_negated(ccd: etree._Element) -> None:
    assert medication(ccd, "312615").get("negationInd") == "true"
    assert medication(ccd, "485032").get("negationInd") is None
    (procedure,) = ccd.xpath("//v3:procedure[v3:code/@code='31622']", namespaces=NS)
    assert procedure.get("negationInd") == "true"
    (no_diabetes,) = ccd.xpath("//v3:observation[v3:value/@code='73211009']", namespaces=NS)
    assert no_diabetes.get("negationInd") == "true"


def test_a_social_history_observation_not_made_goes_out_negated(ccd: etree._Element) -> None:
    # Its template's statusCode is always "completed": "cancelled" was lost.
    (alcohol,) = ccd.xpath("//v3:observation[v3:code/@code='74013-4']", namespaces=NS)
    assert alcohol.get("negationInd") == "true"
    assert alcohol.find("v3:statusCode", NS).get("code") == "completed"


def status_value(observation: etree._Element, template_root: str) -> str | None:
    found = observation.xpath(
        f"v3:entryRelationship/v3:observation[v3:templateId/@root='{template_root}']/v3:value",
        namespaces=NS,
    )
    return found[0].get("code") if found else None


def test_statuses_reactions_and_severity_are_written_in_status_observations(
    ccd: etree._Element,
) -> None:
    (copd,) = ccd.xpath("//v3:observation[v3:value/@code='496']", namespaces=NS)
    assert status_value(copd, "2.16.840.1.113883.10.20.22.4.6") == "73425007"  # inactive
    (allergy,) = ccd.xpath(
        "//v3:observation[v3:participant//v3:playingEntity/v3:code/@code='70618']", namespaces=NS
    )
    assert status_value(allergy, "2.16.840.1.113883.10.20.22.4.28") == "73425007"  # inactive
    (reaction,) = allergy.xpath(
        "v3:entryRelationship/v3:observation[v3:templateId/@root='2.16.840.1.113883.10.20.22.4.9']",
        namespaces=NS,
    )
    assert reaction.find("v3:value", NS).get("code") == "271807003"
    assert status_value(reaction, "2.16.840.1.113883.10.20.22.4.8") == "24484000"  # severe


def test_a_report_is_one_result_organizer_holding_its_results_and_nothing_invented(
    ccd: etree._Element,
) -> None:
    organizers = ccd.xpath(
        "//v3:organizer[v3:templateId/@root='2.16.840.1.113883.10.20.22.4.1']", namespaces=NS
    )
    # Before: the report's organizer held a valueless observation of its own, and each of its
    # results sat in an organizer of its own.
    assert [o.find("v3:code", NS).get("code") for o in organizers] == ["58410-2"]
    members = organizers[0].findall("v3:component/v3:observation", NS)
    assert [m.find("v3:code", NS).get("code") for m in members] == ["718-7", "6690-2"]
    hemoglobin = members[0]
    assert hemoglobin.find("v3:value", NS).attrib == {
        XSI_TYPE: "PQ",
        "value": "11.2",
        "unit": "g/dL",
    }
    assert hemoglobin.find("v3:interpretationCode", NS).get("code") == "L"
    low = hemoglobin.find("v3:referenceRange/v3:observationRange/v3:value/v3:low", NS)
    assert low.get("value") == "12"
    results = ccd.xpath(
        "//v3:observation[v3:templateId/@root='2.16.840.1.113883.10.20.22.4.2']", namespaces=NS
    )
    assert all(r.find("v3:value", NS).get("nullFlavor") is None for r in results)


def test_a_vital_sign_without_a_value_is_a_null_quantity_not_a_null_string(
    ccd: etree._Element,
) -> None:
    (height,) = ccd.xpath(
        "//v3:observation[v3:templateId/@root='2.16.840.1.113883.10.20.22.4.27']"
        "[v3:code/@code='8302-2']/v3:value",
        namespaces=NS,
    )
    # CONF:1098-7305 wants a PQ, CONF:1098-31579 its unit.
    assert height.get(XSI_TYPE) == "PQ"
    assert height.get("nullFlavor") == "NI"
    assert height.get("unit")
    # Vital signs taken together share one organizer.
    (organizer,) = ccd.xpath(
        "//v3:organizer[v3:templateId/@root='2.16.840.1.113883.10.20.22.4.26']", namespaces=NS
    )
    assert len(organizer.findall("v3:component", NS)) == 2


def test_a_note_goes_out_as_a_notes_section_with_a_note_activity(ccd: etree._Element) -> None:
    (section,) = ccd.xpath(
        "//v3:section[v3:templateId/@root='2.16.840.1.113883.10.20.22.2.65']", namespaces=NS
    )
    assert section.find("v3:code", NS).get("code") == "11506-3"
    paragraph = section.find("v3:text/v3:paragraph", NS)
    assert "".join(paragraph.itertext()) == (
        "FEV1 stable at 62% predicted.Continue augmentation therapy."
    )
    assert len(paragraph.findall("v3:br", NS)) == 1
    (act,) = section.xpath(
        "v3:entry/v3:act[v3:templateId/@root='2.16.840.1.113883.10.20.22.4.202']", namespaces=NS
    )
    code = act.find("v3:code", NS)
    assert (code.get("code"), code.find("v3:translation", NS).get("code")) == (
        "34109-9",
        "11506-3",
    )
    assert act.find("v3:text/v3:reference", NS).get("value") == "#" + paragraph.get("ID")
    assert act.find("v3:effectiveTime", NS).get("value") == "20240110090000-0500"


def export_of(session: Session, *resource_ids: str) -> etree._Element:
    """The CCD of only these records of the fixture, checked against CDA_SDTC.xsd."""
    report = session.import_paths([FIDELITY_PATIENT])
    assert not report.failed, report.as_dict()
    data = build_export_data(session)
    chosen = tuple(r for r in data.records if r.record.resource_id in resource_ids)
    assert len(chosen) == len(resource_ids)
    document = build_ccd(dataclasses.replace(data, records=chosen))
    errors = schema_errors(document)
    assert not errors, schema_summary(errors)
    return etree.fromstring(document)


def result_statements(ccd: etree._Element) -> list[tuple[str, str]]:
    section = ccd.xpath("//v3:section[v3:code/@code='30954-2']", namespaces=NS)[0]
    return [
        (etree.QName(s).localname, s.find("v3:code", NS).get("code"))
        for s in section.xpath("v3:entry/*", namespaces=NS)
    ]


def test_results_no_report_lists_need_one_organizer_and_no_more(session: Session) -> None:
    # C-CDA wants at least one Result Organizer (CONF:1198-7112): the first result gets one;
    # the others are Result Observations, not organizers that would come back as reports.
    ccd = export_of(session, "fx-obs-hgb", "fx-obs-wbc")
    assert result_statements(ccd) == [("organizer", "718-7"), ("observation", "6690-2")]


def test_a_report_with_no_results_and_no_finding_invents_no_observation(
    session: Session,
) -> None:
    ccd = export_of(session, "fx-dr-cbc")
    assert result_statements(ccd) == []
    # No entry, so the entries-required section says so (CONF:1198-7112); the row is there.
    section = ccd.xpath("//v3:section[v3:code/@code='30954-2']", namespaces=NS)[0]
    assert section.get("nullFlavor") == "NI"
    rows = ccd.xpath("//v3:section[v3:code/@code='30954-2']/v3:text//v3:tr[@ID]", namespaces=NS)
    assert [r.findtext("v3:td", namespaces=NS) for r in rows] == [
        "CBC panel - Blood by Automated count"
    ]


def test_a_note_the_patient_wrote_on_a_record_goes_out_as_a_note_on_that_record(
    session: Session,
) -> None:
    assert not session.import_paths([FIDELITY_PATIENT]).failed
    data = build_export_data(session)
    (hemoglobin,) = [r for r in data.records if r.record.resource_id == "fx-obs-hgb"]
    session.add_note(hemoglobin.id, "Taken after two weeks of iron tablets.")
    document = build_ccd(build_export_data(session))
    errors = schema_errors(document)
    assert not errors, schema_summary(errors)
    ccd = etree.fromstring(document)
    (section,) = ccd.xpath(
        "//v3:section[v3:templateId/@root='2.16.840.1.113883.10.20.22.2.65']"
        '[starts-with(v3:title, "Patient\'s note")]',
        namespaces=NS,
    )
    assert section.findtext("v3:title", namespaces=NS) == "Patient's note on Hemoglobin"
    assert section.findtext("v3:text/v3:paragraph", namespaces=NS) == (
        "Taken after two weeks of iron tablets."
    )
    act_id = section.find(".//v3:act/v3:id", NS).get("extension")
    assert act_id == "Observation/fx-obs-hgb#patient-note-1"


@pytest.mark.parametrize("fixture", ["fidelity_patient.json", "rich_patient.json"])
def test_what_our_ccd_says_comes_back_the_same_through_a_second_round_trip(
    fixture: str, session: Session, profiles: Profiles, tmp_path: Path
) -> None:
    """Our CCD read back and written again says the same: every fact of the first re-import
    (codes, dates, values, statuses, negation, doses, frequencies…) is in the second, and no
    other. (From FHIR the first trip maps FHIR to C-CDA terms; from there it must be stable.)"""
    assert not session.import_paths([DATA / "ccd_export" / fixture]).failed
    facts: list[object] = []
    document = build_ccd(build_export_data(session))
    for n in (1, 2):
        written = tmp_path / f"trip-{n}" / "ccd.xml"
        written.parent.mkdir()
        written.write_bytes(document)
        with profiles.create(f"trip-{n}", PASSPHRASE)[0] as again:
            assert not again.import_paths([written]).failed
            facts.append(profile_facts(again))
            # Exported while the profile is open: an export reads its bodies as it goes.
            document = build_ccd(build_export_data(again))
    first, second = facts
    assert first, "nothing came back"
    assert first == second, difference(first, second)


def test_a_code_with_spaces_in_it_cannot_be_a_cda_code_and_is_left_to_the_text() -> None:
    # CDA's `cs` is one token: `code="TYPE 2"` would make the document schema-invalid.
    parent = etree.Element("{urn:hl7-org:v3}observation")
    codes = [
        Code("urn:oid:1.2.3.4", "TYPE 2", "Type 2 diabetes (clinic list)"),
        Code(SNOMED, " 44054006 ", "Diabetes mellitus type 2"),
    ]
    element = coded(parent, "value", codes, "Type 2 diabetes", xsi_type="CD")
    assert codings(element) == [("2.16.840.1.113883.6.96", "44054006")]
    assert element.findtext("v3:originalText", namespaces=NS) == "Type 2 diabetes"
