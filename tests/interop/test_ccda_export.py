"""The C-CDA R2.1 CCD export: structured, linked to its narrative, and round-trips."""

from __future__ import annotations

import dataclasses
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from lxml import etree

from phr_desktop.cli import main
from phr_desktop.domain.records import parse_partial_date
from phr_desktop.interop.ccda.export import SECTIONS, build_ccd
from phr_desktop.interop.ccda.export_values import stable_uid, system_root, ts_value
from phr_desktop.interop.ccda.patient import US_CORE
from phr_desktop.interop.export_data import ExportData
from phr_desktop.interop.xml_safety import parse_xml
from phr_desktop.services.demo import DEMO_PASSPHRASE
from phr_desktop.services.exporting import build_export_data
from phr_desktop.services.profiles import Profiles
from phr_desktop.services.session import Session
from tests.conftest import DATA, PASSPHRASE
from tests.interop.cda_schema_support import schema_errors, schema_summary

NS = {"v3": "urn:hl7-org:v3", "xsi": "http://www.w3.org/2001/XMLSchema-instance"}


def well_formed(document: bytes) -> bool:
    """Read back through the one safe parser, and valid against HL7's CDA_SDTC.xsd (0 errors).
    Conformance to the C-CDA templates is checked against HL7's Schematron in
    test_ccda_schematron.py."""
    errors = schema_errors(document)
    assert not errors, schema_summary(errors)
    return parse_xml(document, "ccd.xml").getroot().tag == "{urn:hl7-org:v3}ClinicalDocument"


@pytest.fixture
def demo_data(session: Session, demo_files: list[Path]) -> ExportData:
    session.import_paths(demo_files)
    return build_export_data(session)


@pytest.fixture
def ccd(demo_data: ExportData) -> etree._Element:
    document = build_ccd(demo_data)
    assert well_formed(document)
    return etree.fromstring(document)


def sections(ccd: etree._Element) -> dict[str, etree._Element]:
    """The CCD's sections for record kinds, by LOINC code (the Notes Sections are not here)."""
    out = {}
    for section in ccd.iterfind(".//v3:section", NS):
        if section.find("v3:templateId[@root='2.16.840.1.113883.10.20.22.2.65']", NS) is not None:
            continue
        code = section.find("v3:code", NS)
        assert code is not None
        out[code.get("code")] = section
    return out


def entry_ids(section: etree._Element) -> set[str]:
    """The records a section's entries carry: each entry's own statement and, in an organizer,
    each of its observations is one record (by the record part of its id)."""
    out = set()
    for statement in section.xpath(
        "v3:entry/*|v3:entry/v3:organizer/v3:component/*", namespaces=NS
    ):
        if statement.tag.endswith("organizer"):
            continue
        out.add(statement.find("v3:id", NS).get("extension").split("#")[0])
    return out


def test_each_section_holds_every_record_of_its_kinds_once(
    demo_data: ExportData, ccd: etree._Element
) -> None:
    by_code = sections(ccd)
    assert set(by_code) == {spec.loinc for spec in SECTIONS}
    for spec in SECTIONS:
        records = spec.records(demo_data)
        carried = entry_ids(by_code[spec.loinc])
        expected = {f"{r.record.resource_type}/{r.record.resource_id}" for r in records}
        assert carried == expected, spec.title
        if spec.grouping is None:
            assert len(by_code[spec.loinc].findall("v3:entry", NS)) == len(records), spec.title
        # The demo patient has some of every kind but social history observations.
        assert records or spec.key == "social", spec.title


def test_ccd_header_names_the_patient_the_app_as_author_and_a_custodian(
    ccd: etree._Element,
) -> None:
    template_ids = {(t.get("root"), t.get("extension")) for t in ccd.findall("v3:templateId", NS)}
    assert ("2.16.840.1.113883.10.20.22.1.2", "2015-08-01") in template_ids
    assert ccd.findtext(".//v3:patient/v3:name/v3:family", namespaces=NS) == "Doyle"
    assert ccd.find(".//v3:patient/v3:birthTime", NS).get("value") == "19680412"
    software = ccd.findtext(".//v3:author//v3:softwareName", namespaces=NS)
    assert software is not None and software.startswith("phr-desktop")
    assert ccd.find(".//v3:custodian//v3:representedCustodianOrganization/v3:id", NS) is not None


def test_every_entry_text_points_at_a_row_of_its_own_section(ccd: etree._Element) -> None:
    for section in ccd.iterfind(".//v3:section", NS):
        row_ids = {el.get("ID") for el in section.iterfind("v3:text//*[@ID]", NS)}
        for entry in section.findall("v3:entry", NS):
            references = [r.get("value") for r in entry.iterfind(".//v3:text/v3:reference", NS)]
            assert references, etree.tostring(entry)[:200]
            assert all(ref.startswith("#") and ref[1:] in row_ids for ref in references)


def test_results_carry_values_with_units_ranges_and_interpretations(ccd: etree._Element) -> None:
    results = sections(ccd)["30954-2"]
    values = results.findall(".//v3:observation/v3:value[@xsi:type='PQ']", NS)
    assert values and all(v.get("unit") and float(v.get("value")) == float(v.get("value"))
                          for v in values)  # fmt: skip
    assert results.find(".//v3:referenceRange/v3:observationRange", NS) is not None
    codes = {c.get("codeSystem") for c in results.iterfind(".//v3:observation/v3:code", NS)}
    assert "2.16.840.1.113883.6.1" in codes  # LOINC


def test_code_systems_are_named_by_their_oids(ccd: etree._Element) -> None:
    systems = {c.get("codeSystem") for c in ccd.iter("{urn:hl7-org:v3}*") if c.get("codeSystem")}
    for oid in (
        "2.16.840.1.113883.6.1",  # LOINC
        "2.16.840.1.113883.6.96",  # SNOMED CT
        "2.16.840.1.113883.6.88",  # RxNorm
        "2.16.840.1.113883.6.90",  # ICD-10-CM
        "2.16.840.1.113883.12.292",  # CVX
    ):
        assert oid in systems


@pytest.mark.parametrize(
    ("fhir", "cda"),
    [
        ("2015", "2015"),
        ("2015-03", "201503"),
        ("2015-03-04", "20150304"),
        ("2015-03-04T09:10:00-05:00", "20150304091000-0500"),
        ("2015-03-04T09:10:00Z", "20150304091000+0000"),
        ("2015-03-04T09:10:00.250+01:00", "20150304091000.250+0100"),
        ("2015-03-04T09:10", "201503040910"),
    ],
)
def test_dates_keep_the_precision_the_source_gave(fhir: str, cda: str) -> None:
    assert ts_value(parse_partial_date(fhir)) == cda


@pytest.mark.parametrize(
    ("system", "root"),
    [
        ("urn:oid:2.16.840.1.113883.4.1", "2.16.840.1.113883.4.1"),
        ("2.16.840.1.113883.4.1", "2.16.840.1.113883.4.1"),
        ("urn:uuid:7e0c3b36-4a55-4a1f-9d3e-12ab34cd56ef", "7E0C3B36-4A55-4A1F-9D3E-12AB34CD56EF"),
        ("urn:uuid:2.16.840.1", None),  # not a UUID: a made-up root, never a wrong one
        ("urn:oid:7e0c3b36-4a55-4a1f-9d3e-12ab34cd56ef", None),
        ("http://hospital.example/mrn", None),
    ],
)
def test_identifier_systems_naming_an_oid_or_uuid_become_that_root(
    system: str, root: str | None
) -> None:
    made_up = stable_uid("system", system)
    assert system_root(system) == (root or made_up)


def test_a_kind_with_no_records_says_no_information(session: Session, demo_files) -> None:  # type: ignore[no-untyped-def]
    session.import_paths(demo_files)
    data = build_export_data(session, kinds=["problem"])
    document = build_ccd(data)
    by_code = sections(etree.fromstring(document))
    assert by_code["11450-4"].get("nullFlavor") is None
    empty = by_code["48765-2"]
    assert empty.get("nullFlavor") == "NI"
    assert empty.findtext("v3:text/v3:paragraph", namespaces=NS) == "No information"
    assert empty.findall("v3:entry", NS) == []
    assert well_formed(document)


def test_markup_and_control_characters_in_records_are_escaped(demo_data: ExportData) -> None:
    hostile = "<script>alert('x')</script> & \x01 ]]>"
    first = demo_data.records[0]
    changed = dataclasses.replace(first, record=dataclasses.replace(first.record, title=hostile))
    data = dataclasses.replace(demo_data, records=(changed, *demo_data.records[1:]))
    document = build_ccd(data)
    tree = etree.fromstring(document)
    assert tree.find(".//{urn:hl7-org:v3}script") is None
    assert "<script>alert('x')</script> &  ]]>" in "".join(tree.itertext())
    assert well_formed(document)


def test_cli_export_ccda_writes_a_well_formed_ccd(
    data_dir: Path, fast_kdf: None, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("PHR_DATA_DIR", str(data_dir))
    monkeypatch.setenv("PHR_PASSPHRASE", DEMO_PASSPHRASE)
    assert main(["demo", "--json"]) == 0
    output = tmp_path / "ccd.xml"
    assert main(["--profile", "demo", "export", "--format", "ccda", "-o", str(output)]) == 0
    assert well_formed(output.read_bytes())


def _fingerprint(data: ExportData) -> Counter[tuple[object, ...]]:
    """What must survive export and import: kind, codes, date as given, numeric value, unit."""
    out: Counter[tuple[object, ...]] = Counter()
    for rec in data.records:
        r = rec.record
        codes = tuple(sorted((c.system or "", c.code or "") for c in r.codes if c.code))
        value = (r.value.value, r.value.unit) if r.value and r.value.value is not None else None
        out[(r.kind.value, codes, r.effective.text if r.effective else None, value)] += 1
    return out


def test_ccd_imported_into_a_new_profile_gives_the_same_records(
    demo_data: ExportData, profiles: Profiles, tmp_path: Path
) -> None:
    # Needs the C-CDA importer (interop/ccda/importer.py) wired into session.import_paths for
    # .xml files: until it is, this fails on purpose rather than skipping.
    exported = tmp_path / "ccd.xml"
    exported.write_bytes(build_ccd(demo_data))
    with profiles.create("roundtrip", PASSPHRASE)[0] as fresh:
        report = fresh.import_paths([exported])
        assert not report.failed, report.as_dict()
        again = build_export_data(fresh)
    exact_kinds = {"problem", "medication", "allergy", "immunization", "procedure", "encounter"}
    sent, back = _fingerprint(demo_data), _fingerprint(again)
    for kind in exact_kinds:
        assert Counter({k: n for k, n in back.items() if k[0] == kind}) == Counter(
            {k: n for k, n in sent.items() if k[0] == kind}
        ), kind

    # Results and vitals: every measured value comes back (C-CDA wraps results in organizers,
    # which come back as DiagnosticReports, and blood-pressure panels as their components).
    # Compared by number only: the CCD writes units in UCUM ("/min" for "beats/minute").
    def numbers(prints: Counter[Any]) -> Counter[Any]:
        out: Counter[Any] = Counter()
        for (kind, codes, date, value), n in prints.items():
            if kind in ("lab_result", "vital_sign") and value:
                out[(codes, date, value[0])] += n
        return out

    blood_pressure = (("http://loinc.org", "85354-9"),)  # comes back as its two components
    lost = {k: n for k, n in (numbers(sent) - numbers(back)).items() if k[0] != blood_pressure}
    assert lost == {}, "measurements lost on the way"
    # The demo patient has no race or ethnicity: the CCD's raceCode nullFlavor="UNK" (which
    # C-CDA requires) must not come back as a race the patient never gave.
    assert race_and_ethnicity(again) == race_and_ethnicity(demo_data) == []


def race_and_ethnicity(data: ExportData) -> list[dict[str, Any]]:
    raw = data.patient.raw if data.patient else {}
    return [
        e
        for e in raw.get("extension") or ()
        if e.get("url") in (f"{US_CORE}us-core-race", f"{US_CORE}us-core-ethnicity")
    ]


def test_race_and_ethnicity_survive_export_and_import(
    session: Session, profiles: Profiles, tmp_path: Path
) -> None:
    # Two OMB races (raceCode + sdtc:raceCode) and an ethnicity, as US Core extensions.
    session.import_paths([DATA / "ccd_export" / "rich_patient.json"])
    sent = build_export_data(session)
    assert len(race_and_ethnicity(sent)) == 2
    exported = tmp_path / "ccd.xml"
    exported.write_bytes(build_ccd(sent))
    with profiles.create("roundtrip", PASSPHRASE)[0] as fresh:
        assert not fresh.import_paths([exported]).failed
        assert race_and_ethnicity(build_export_data(fresh)) == race_and_ethnicity(sent)
