"""FHIR exports: a collection of every stored resource, and an IPS-style patient summary."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import orjson
import pytest
from fhir.resources.R4B.bundle import Bundle
from pydantic import ValidationError

from phr_desktop.interop.export_data import ExportData
from phr_desktop.interop.fhir.export import collection_bundle, ips_document
from phr_desktop.services.exporting import build_export_data
from phr_desktop.services.session import Session

# Deliberately non-conformant demo resources (resources/demo/README.md).
ODD_IDS = {"lh-obs-alt-2020-11", "lh-cond-gerd"}
LOINC = "http://loinc.org"


@pytest.fixture
def demo(session: Session, demo_files: list[Path]) -> ExportData:
    session.import_paths(demo_files)
    fev1 = next(s for s in session.records() if s.record.resource_id == "rp-obs-fev1-2017-05")
    session.add_note(fev1.id, "Felt well that day.\nBefore the holiday.")
    return build_export_data(session)


def _resources(bundle: dict[str, Any]) -> list[dict[str, Any]]:
    return [e["resource"] for e in bundle["entry"]]


def test_collection_holds_every_stored_resource_and_parses_apart_from_the_odd_two(
    demo: ExportData,
) -> None:
    bundle = orjson.loads(collection_bundle(demo))
    assert bundle["type"] == "collection"
    assert bundle["timestamp"] == demo.generated_at
    ids = [(r["resourceType"], r["id"]) for r in _resources(bundle)]
    assert demo.patient is not None
    expected = [(demo.patient.raw["resourceType"], demo.patient.raw["id"])] + [
        (r.raw["resourceType"], r.raw["id"]) for r in demo.records
    ]
    assert ids[: len(expected)] == expected
    assert all(e["fullUrl"].startswith("urn:uuid:") for e in bundle["entry"])
    assert len({e["fullUrl"] for e in bundle["entry"]}) == len(bundle["entry"])

    conformant = dict(
        bundle, entry=[e for e in bundle["entry"] if e["resource"]["id"] not in ODD_IDS]
    )
    Bundle.model_validate(conformant)
    with pytest.raises(ValidationError) as caught:
        Bundle.model_validate(bundle)
    assert caught.value.error_count() == 2


def test_collection_keeps_stored_number_literals_and_each_resource_byte_for_byte(
    demo: ExportData,
) -> None:
    text = collection_bundle(demo)
    assert b'"value":1.50,' in text or b'"value":1.50}' in text
    for rec in demo.records:
        assert rec.raw_body in text


def test_collection_fullurls_are_stable_across_exports(demo: ExportData) -> None:
    first = [e["fullUrl"] for e in orjson.loads(collection_bundle(demo))["entry"]]
    second = [e["fullUrl"] for e in orjson.loads(collection_bundle(demo))["entry"]]
    assert first == second


def test_patient_notes_become_document_references_pointing_at_their_record(
    demo: ExportData,
) -> None:
    bundle = orjson.loads(collection_bundle(demo))
    urls = {e["resource"]["id"]: e["fullUrl"] for e in bundle["entry"]}
    notes = [
        r
        for r in _resources(bundle)
        if r["resourceType"] == "DocumentReference" and r["type"]["coding"][0]["code"] == "51855-5"
    ]
    assert len(notes) == 1
    (note,) = notes
    assert note["context"]["related"][0]["reference"] == urls["rp-obs-fev1-2017-05"]
    assert note["subject"]["reference"] == urls[demo.patient.raw["id"]]  # type: ignore[union-attr]
    assert (
        "Felt well that day."
        in __import__("base64").b64decode(note["content"][0]["attachment"]["data"]).decode()
    )


def test_ips_is_a_valid_document_with_composition_first(demo: ExportData) -> None:
    text = ips_document(demo)
    Bundle.model_validate_json(text)
    bundle = orjson.loads(text)
    assert bundle["type"] == "document"
    assert bundle["identifier"]["value"].startswith("urn:uuid:")
    composition = bundle["entry"][0]["resource"]
    assert composition["resourceType"] == "Composition"
    assert composition["type"]["coding"][0]["code"] == "60591-5"
    codes = [s["code"]["coding"][0]["code"] for s in composition["section"]]
    assert codes == ["11450-4", "10160-0", "48765-2", "11369-6", "30954-2", "8716-3", "47519-4"]
    urls = {e["fullUrl"] for e in bundle["entry"]}
    for section in composition["section"]:
        assert section["text"]["div"].startswith('<div xmlns="http://www.w3.org/1999/xhtml">')
        for entry in section.get("entry", []):
            assert entry["reference"] in urls
        assert ("entry" in section) != ("emptyReason" in section)
    author = composition["author"][0]["reference"]
    (device,) = [e["resource"] for e in bundle["entry"] if e["fullUrl"] == author]
    assert device["resourceType"] == "Device"
    assert composition["subject"]["reference"] in urls


def _section(bundle: dict[str, Any], code: str) -> list[dict[str, Any]]:
    composition = bundle["entry"][0]["resource"]
    (section,) = [s for s in composition["section"] if s["code"]["coding"][0]["code"] == code]
    by_url = {e["fullUrl"]: e["resource"] for e in bundle["entry"]}
    return [by_url[e["reference"]] for e in section.get("entry", [])]


def test_ips_summarises_aatd_zemaira_and_the_penicillin_allergy(demo: ExportData) -> None:
    bundle = orjson.loads(ips_document(demo))
    problems = {r["id"] for r in _section(bundle, "11450-4")}
    # Both practices list the AATD diagnosis: one fact, summarised once (issue 13).
    assert len({"rp-cond-aatd", "lh-cond-aatd"} & problems) == 1
    assert "rp-cond-copd-exacerbation-2016-08" not in problems  # resolved
    meds = {r["id"] for r in _section(bundle, "10160-0")}
    assert "rp-medreq-zemaira" in meds
    assert "rp-medreq-prolastin-c" not in meds  # stopped in 2020
    allergies = {r["id"] for r in _section(bundle, "48765-2")}
    # Both practices record the penicillin allergy: one fact, summarised once (issue 13).
    assert len({"rp-allergy-penicillin", "lh-allergy-penicillin"} & allergies) == 1


def test_ips_leaves_out_non_conformant_records_and_keeps_latest_result_per_test(
    demo: ExportData,
) -> None:
    bundle = orjson.loads(ips_document(demo))
    ids = {r.get("id") for r in _resources(bundle)}
    assert not ids & ODD_IDS
    results = _section(bundle, "30954-2")
    fev1 = [
        r for r in results if any(c.get("code") == "20150-9" for c in r["code"].get("coding", []))
    ]
    assert [r["id"] for r in fev1] == ["rp-obs-fev1-2025-06"]
    # Every reference is to an entry of the document, or display-only.
    urls = {e["fullUrl"] for e in bundle["entry"]}
    refs: list[str] = []

    def walk(value: Any) -> None:
        if isinstance(value, dict):
            if isinstance(value.get("reference"), str):
                refs.append(value["reference"])
            for v in value.values():
                walk(v)
        elif isinstance(value, list):
            for v in value:
                walk(v)

    for resource in _resources(bundle)[1:]:
        if resource["resourceType"] != "Patient":
            walk(resource)
    assert refs and all(r in urls or r.startswith("#") for r in refs)
