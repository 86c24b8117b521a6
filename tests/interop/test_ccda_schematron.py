"""The exported CCD is valid against HL7's CDA R2 schema (CDA_SDTC.xsd) and meets every SHALL
rule of HL7's C-CDA R2.1 Schematron.

The rules are HL7's own (Consolidation.sch, as ONC and HL7 validators use them) and the engine is
lxml's ISO Schematron, neither of them ours: tests/interop/schematron_support.py. The "errors"
phase holds the SHALL rules; SHOULD rules ("warnings") are counted by running the support module
as a script, not asserted.
"""

from __future__ import annotations

import dataclasses
import time
from pathlib import Path
from typing import Any

import orjson
import pytest
from lxml import etree

from phr_desktop.interop.ccda.export import SECTIONS, build_ccd
from phr_desktop.interop.export_data import ExportData, ExportRecord
from phr_desktop.services.exporting import build_export_data
from phr_desktop.services.session import Session
from phr_desktop.services.terminology import aatd_pack
from tests.conftest import DATA
from tests.interop import schematron_support
from tests.interop.cda_schema_support import schema_errors, schema_summary
from tests.interop.schematron_support import CcdaSchematron, summary

RICH_PATIENT = DATA / "ccd_export" / "rich_patient.json"
FIDELITY_PATIENT = DATA / "ccd_export" / "fidelity_patient.json"
NS = {"v3": "urn:hl7-org:v3", "xsi": "http://www.w3.org/2001/XMLSchema-instance"}


@pytest.fixture(scope="module")
def shall_rules() -> CcdaSchematron:
    try:
        voc = schematron_support.install()
    except schematron_support.SchematronUnavailable as exc:
        pytest.fail(str(exc))
    return CcdaSchematron(voc, "errors")


def exported(session: Session, files: list[Path]) -> ExportData:
    report = session.import_paths(files)
    assert not report.failed, report.as_dict()
    return build_export_data(session)


def assert_conformant(rules: CcdaSchematron, document: bytes, budget_seconds: float) -> None:
    """0 errors against HL7's CDA_SDTC.xsd and 0 failed SHALL rules of the Schematron."""
    errors = schema_errors(document)
    assert not errors, schema_summary(errors)
    started = time.perf_counter()
    failures = rules.failed_asserts(document)
    took = time.perf_counter() - started
    assert not failures, summary(failures)
    assert took < budget_seconds, f"validation took {took:.1f} s"


def test_ccd_of_a_profile_with_every_kind_of_record_meets_every_shall_rule(
    shall_rules: CcdaSchematron, session: Session
) -> None:
    data = exported(session, [RICH_PATIENT])
    document = build_ccd(data)
    for spec in SECTIONS:
        assert spec.records(data), f"the fixture has no {spec.title}"
    tree = etree.fromstring(document)
    assert tree.find(".//v3:raceCode[@code='2106-3']", NS) is not None
    assert tree.find(".//{urn:hl7-org:sdtc}raceCode[@code='2054-5']") is not None
    assert tree.find(".//v3:observation/v3:code[@code='72166-2']", NS) is not None
    assert "< 0.3 mg/dL" in tree.xpath("//v3:value[@xsi:type='ST']/text()", namespaces=NS)
    assert_conformant(shall_rules, document, budget_seconds=15)


def test_ccd_with_negation_every_code_system_panels_and_notes_is_valid_and_meets_every_rule(
    shall_rules: CcdaSchematron, session: Session
) -> None:
    # Status and severity observations, negationInd, translations in CPT/NDC/FDB/local systems,
    # a report's organizer, a vital sign with no value, dose frequency, and a Notes Section.
    document = build_ccd(exported(session, [FIDELITY_PATIENT]))
    assert_conformant(shall_rules, document, budget_seconds=15)


@pytest.mark.parametrize(
    "resource_ids",
    [("fx-obs-hgb", "fx-obs-wbc"), ("fx-dr-cbc",)],
    ids=["results-no-report-lists", "a-report-with-nothing-in-it"],
)
def test_ccd_of_results_without_their_reports_or_reports_without_results_meets_every_rule(
    shall_rules: CcdaSchematron, session: Session, resource_ids: tuple[str, ...]
) -> None:
    data = exported(session, [FIDELITY_PATIENT])
    chosen = tuple(r for r in data.records if r.record.resource_id in resource_ids)
    assert len(chosen) == len(resource_ids)
    document = build_ccd(dataclasses.replace(data, records=chosen))
    assert_conformant(shall_rules, document, budget_seconds=10)


def test_the_schema_check_is_live() -> None:
    """A CCD with an element out of CDA's order, or a code system that is no uid, fails it."""
    valid = build_ccd(ExportData(None, (), aatd_pack(), "2024-01-01T00:00:00+00:00", "test"))
    assert schema_errors(valid) == []
    tree = etree.fromstring(valid)
    title = tree.find("v3:title", NS)
    tree.append(title)  # after the body: out of order
    tree.find(".//v3:section/v3:code", NS).set("codeSystem", "not a uid")
    errors = schema_errors(tree)
    assert any("title" in e for e in errors) and any("codeSystem" in e for e in errors), errors


def shape(rec: ExportRecord) -> tuple[Any, ...]:
    """What decides how a record is written: its kind, type, fields, components, status and
    date precision; records of one shape differ only in values."""

    def fields(resource: dict[str, Any]) -> tuple[str, ...]:
        return tuple(sorted(k for k in resource if k not in ("id", "meta", "text")))

    components = tuple(sorted(fields(c) for c in rec.raw.get("component") or ()))
    record = rec.record
    precision = record.effective.precision if record.effective else None
    return (
        record.kind,
        record.resource_type,
        fields(rec.raw),
        components,
        record.status,
        precision,
    )


def test_ccd_of_the_demo_profile_meets_every_shall_rule(
    shall_rules: CcdaSchematron, session: Session, demo_files: list[Path]
) -> None:
    # The whole demo export (434 records, 800 kB) takes 15-30 s to check on a shared machine;
    # one record of each of its ~40 shapes covers what the exporter writes for it in ~2 s.
    # `python -m tests.interop.schematron_support ccd.xml` checks a whole export by hand.
    data = exported(session, demo_files)
    sample: dict[tuple[Any, ...], ExportRecord] = {}
    for rec in data.records:
        sample.setdefault(shape(rec), rec)
    assert 20 < len(sample) < 80, len(sample)
    document = build_ccd(dataclasses.replace(data, records=tuple(sample.values())))
    assert_conformant(shall_rules, document, budget_seconds=15)


def test_ccd_of_a_profile_that_knows_nothing_about_the_patient_meets_every_shall_rule(
    shall_rules: CcdaSchematron, session: Session
) -> None:
    data = exported(session, [RICH_PATIENT])
    assert data.patient is not None
    unknown = build_ccd(dataclasses.replace(data, patient=None, records=()))
    assert_conformant(shall_rules, unknown, budget_seconds=10)
    sparse_patient = {
        "resourceType": "Patient",
        "name": [{"text": "Robin  Ashdown-Hale"}],
        "address": [{"line": ["4 Rue Lepic"], "city": "Paris", "country": "FR"}, {"text": "?"}],
        "telecom": [{"system": "email", "value": "robin@example.org"}],
    }
    sparse = dataclasses.replace(
        data, patient=dataclasses.replace(data.patient, stored_body=orjson.dumps(sparse_patient))
    )
    document = build_ccd(sparse)
    name = etree.fromstring(document).find(".//v3:patient/v3:name", NS)
    assert [part.text for part in name] == ["Robin", "Ashdown-Hale"]
    assert_conformant(shall_rules, document, budget_seconds=15)


def test_the_rules_catch_a_broken_ccd_including_value_set_lookups(
    shall_rules: CcdaSchematron, session: Session
) -> None:
    """The check is live: broken copies of a conformant export fail the rules they break, among
    them rules that look their value sets up in voc.xml."""
    tree = etree.fromstring(build_ccd(exported(session, [RICH_PATIENT])))
    birth_time = tree.find(".//v3:patient/v3:birthTime", NS)
    birth_time.getparent().remove(birth_time)
    allergy_concern = "//v3:act[v3:templateId/@root='2.16.840.1.113883.10.20.22.4.30']"
    tree.xpath(allergy_concern + "/v3:statusCode", namespaces=NS)[0].set("code", "finished")
    medication = (
        "//v3:substanceAdministration[v3:templateId/@root='2.16.840.1.113883.10.20.22.4.16']"
    )
    tree.xpath(medication, namespaces=NS)[0].set("moodCode", "RQO")
    # "finished" is not in ProblemAct statusCode, "RQO" not in MoodCodeEvnInt (both in voc.xml)
    failed = {f.rule for f in shall_rules.failed_asserts(tree)}
    assert {"a-1198-5298", "a-1198-19086", "a-1098-7497"} <= failed, failed
