"""Importing FHIR files into a profile: idempotent, versioned, all-or-nothing, never lossy."""

from __future__ import annotations

import copy
import hashlib
from pathlib import Path
from typing import Any

import orjson
import pytest

from phr_desktop.services.errors import Cancelled, StorageFull
from phr_desktop.services.session import RecordFilter, Session
from phr_desktop.services.tasks import CancelToken, Progress


def _snapshot(session: Session) -> tuple[Any, ...]:
    conn = session.vault.conn
    return tuple(
        conn.execute(sql).fetchall()
        for sql in (
            "SELECT id, sha256, is_current FROM raw_resources ORDER BY id",
            "SELECT id, raw_id, title, value_num FROM records ORDER BY id",
            "SELECT tag, record_id FROM record_tags ORDER BY tag, record_id",
        )
    )


def _bundle(*resources: dict[str, Any]) -> bytes:
    return orjson.dumps(
        {
            "resourceType": "Bundle",
            "type": "collection",
            "entry": [{"resource": r} for r in resources],
        }
    )


def _obs(rid: str, value: float, updated: str, version: str = "1") -> dict[str, Any]:
    return {
        "resourceType": "Observation",
        "id": rid,
        "meta": {"versionId": version, "lastUpdated": updated, "source": "Test Lab"},
        "status": "final",
        "category": [{"coding": [{"code": "laboratory"}]}],
        "code": {"coding": [{"system": "http://loinc.org", "code": "1825-9", "display": "AAT"}]},
        "effectiveDateTime": "2020-01-01",
        "valueQuantity": {"value": value, "unit": "mg/dL"},
    }


def test_the_demo_patient_imports_with_records_for_every_kind(
    session: Session, demo_files: list[Path]
) -> None:
    report = session.import_paths(demo_files)
    assert not report.failed
    counts = session.counts_by_kind()
    for kind in (
        "problem",
        "lab_result",
        "vital_sign",
        "medication",
        "procedure",
        "imaging",
        "clinical_note",
        "immunization",
        "allergy",
        "encounter",
        "patient",
    ):
        assert counts.get(kind, 0) > 0, kind
    raw_total = session.vault.conn.execute("SELECT count(*) FROM raw_resources").fetchone()[0]
    entries = sum(len(orjson.loads(f.read_bytes())["entry"]) for f in demo_files)
    assert raw_total == entries == report.totals.new
    sources = {s.record.source_system for s in session.records()}
    assert sources == {"Riverside Pulmonary (Epic)", "Lakeside Hepatology (Cerner)"}


def test_importing_the_same_files_twice_changes_nothing(
    session: Session, demo_files: list[Path]
) -> None:
    session.import_paths(demo_files)
    before = _snapshot(session)
    report = session.import_paths(demo_files)
    assert report.totals.new == report.totals.updated == 0
    assert all(f.status == "unchanged" for f in report.files)
    assert _snapshot(session) == before


def test_every_file_is_kept_byte_for_byte(session: Session, demo_files: list[Path]) -> None:
    session.import_paths(demo_files)
    for path in demo_files:
        data = path.read_bytes()
        assert session.store.document_bytes(hashlib.sha256(data).hexdigest()) == data


def test_a_newer_version_replaces_the_record_and_both_raw_versions_are_kept(
    session: Session, tmp_path: Path
) -> None:
    first, second = tmp_path / "v1.json", tmp_path / "v2.json"
    first.write_bytes(_bundle(_obs("aat", 22, "2020-01-02T00:00:00Z")))
    second.write_bytes(_bundle(_obs("aat", 24, "2020-02-02T00:00:00Z", "2")))
    session.import_paths([first])
    (record,) = session.records()
    report = session.import_paths([second])
    assert report.totals.updated == 1
    (updated,) = session.records()
    assert updated.id == record.id  # notes stay attached
    assert updated.record.value and updated.record.value.value == 24
    raws = session.vault.conn.execute(
        "SELECT version_id, is_current FROM raw_resources ORDER BY id"
    ).fetchall()
    assert raws == [("1", 0), ("2", 1)]


def test_an_older_version_arriving_late_is_kept_but_does_not_win(
    session: Session, tmp_path: Path
) -> None:
    newer, older = tmp_path / "new.json", tmp_path / "old.json"
    newer.write_bytes(_bundle(_obs("aat", 24, "2020-02-02T00:00:00Z", "2")))
    older.write_bytes(_bundle(_obs("aat", 22, "2020-01-02T00:00:00Z", "1")))
    session.import_paths([newer])
    report = session.import_paths([older])
    assert report.totals.older_kept == 1
    (record,) = session.records()
    assert record.record.value and record.record.value.value == 24
    assert session.vault.conn.execute("SELECT count(*) FROM raw_resources").fetchone()[0] == 2


def test_an_unparseable_file_is_refused_kept_as_a_document_and_changes_no_record(
    session: Session, demo_files: list[Path], tmp_path: Path
) -> None:
    session.import_paths(demo_files)
    before = _snapshot(session)
    broken = tmp_path / "broken.json"
    broken.write_bytes(b'{"resourceType": "Bundle",\n "entry": [ oops ]}')
    report = session.import_paths([broken])
    (outcome,) = report.failed
    assert "broken.json" in (outcome.error or "") and "line 2" in (outcome.error or "")
    assert _snapshot(session) == before
    (error,) = session.vault.conn.execute(
        "SELECT parse_error FROM source_documents WHERE filename = 'broken.json'"
    ).fetchone()
    digest = hashlib.sha256(broken.read_bytes()).hexdigest()
    assert session.store.document_bytes(digest) == broken.read_bytes() and "line 2" in error


def test_a_missing_file_is_reported_and_the_others_still_import(
    session: Session, demo_files: list[Path], tmp_path: Path
) -> None:
    report = session.import_paths([tmp_path / "nope.json", *demo_files])
    assert [f.status for f in report.files] == ["failed", "imported", "imported"]
    assert "does not exist" in (report.files[0].error or "")


def test_a_folder_imports_every_fhir_file_inside(session: Session, tmp_path: Path) -> None:
    folder = tmp_path / "export" / "deep"
    folder.mkdir(parents=True)
    (folder / "a.json").write_bytes(_bundle(_obs("a", 1, "2020-01-01T00:00:00Z")))
    (folder / "b.ndjson").write_bytes(
        orjson.dumps(_obs("b", 2, "2020-01-01T00:00:00Z"))
        + b"\n"
        + orjson.dumps(_obs("c", 3, "2020-01-01T00:00:00Z"))
        + b"\n"
    )
    (folder / "notes.txt").write_text("not FHIR")
    report = session.import_paths([tmp_path / "export"])
    assert report.totals.new == 3
    assert [(Path(f.path).name, f.status) for f in report.files] == [
        ("a.json", "imported"),
        ("b.ndjson", "imported"),
        ("notes.txt", "skipped"),
    ]


def test_a_full_disk_rolls_the_file_back_and_says_so(
    session: Session, demo_files: list[Path], tmp_path: Path
) -> None:
    session.import_paths(demo_files[1:])
    before = _snapshot(session)
    conn = session.vault.conn
    pages = conn.execute("PRAGMA page_count").fetchone()[0]
    conn.execute(f"PRAGMA max_page_count = {pages + 5}")  # what a full disk looks like to SQLite
    with pytest.raises(StorageFull, match="disk is full"):
        session.import_paths(demo_files[:1])
    conn.execute("PRAGMA max_page_count = 1073741823")
    assert _snapshot(session) == before
    assert session.check().problems == []
    session.import_paths(demo_files[:1])  # once there is room again, it imports
    assert len(_snapshot(session)[0]) > len(before[0])


def test_cancelling_between_files_keeps_finished_files_and_nothing_half_done(
    session: Session, demo_files: list[Path]
) -> None:
    token = CancelToken()
    seen: list[Progress] = []

    def progress(p: Progress) -> None:
        seen.append(p)
        if p.message.startswith("Importing") and p.done == 1:
            token.cancel()

    with pytest.raises(Cancelled):
        session.import_paths(demo_files, progress=progress, cancel=token)
    entries = len(orjson.loads(demo_files[0].read_bytes())["entry"])
    assert session.vault.conn.execute("SELECT count(*) FROM raw_resources").fetchone()[0] == entries
    status = session.vault.conn.execute("SELECT status FROM import_jobs").fetchone()[0]
    assert status == "cancelled"


def test_notes_are_kept_beside_the_record_and_searchable(
    session: Session, demo_files: list[Path]
) -> None:
    session.import_paths(demo_files)
    (fev1,) = [s for s in session.records() if s.record.resource_id == "rp-obs-fev1-2017-05"]
    session.add_note(fev1.id, "Felt breathless on the stairs that week")
    assert [n[1] for n in session.notes(fev1.id)] == ["Felt breathless on the stairs that week"]
    assert fev1.id in [s.id for s in session.search("breathless stairs")]
    session.import_paths(demo_files)  # re-import does not disturb notes
    assert session.notes(fev1.id)


def test_decimal_literals_survive_into_the_raw_store(
    session: Session, demo_files: list[Path]
) -> None:
    session.import_paths(demo_files)
    (fev1,) = [s for s in session.records() if s.record.resource_id == "rp-obs-fev1-2017-05"]
    assert b'"value":1.50' in session.raw_source(fev1.id)
    assert fev1.record.value and fev1.record.value.value == 1.5


def test_odd_resources_are_kept_and_flagged(session: Session, demo_files: list[Path]) -> None:
    session.import_paths(demo_files)
    flagged = {
        s.record.resource_id: s.record.quality for s in session.records() if s.record.quality
    }
    assert flagged["lh-obs-alt-2020-11"] == ("missing status",)
    assert any("unreadable date" in q for q in flagged["lh-cond-gerd"])


def test_filters_by_kind_tag_date_and_source(session: Session, demo_files: list[Path]) -> None:
    session.import_paths(demo_files)
    aatd = session.records(RecordFilter(tag="aatd"))
    assert aatd and all("aatd" in s.record.tags for s in aatd)
    in_2016 = session.records(RecordFilter(since="2016", until="2016"))
    assert in_2016 and all(s.record.effective and s.record.effective.year == 2016 for s in in_2016)
    labs = session.records(
        RecordFilter(kinds=("lab_result",), source_system="Lakeside Hepatology (Cerner)")
    )
    assert labs and {s.record.kind.value for s in labs} == {"lab_result"}


def test_reindex_rebuilds_the_same_records(session: Session, demo_files: list[Path]) -> None:
    session.import_paths(demo_files)
    every = RecordFilter(every_source=True)  # also the records that repeat a shown fact
    before = [(s.id, s.record) for s in session.records(every)]
    shown = session.record_ids()
    assert session.reindex() == len(before)
    assert [(s.id, s.record) for s in session.records(every)] == before
    assert session.record_ids() == shown


def test_source_documents_mutated_after_import_do_not_change_the_vault(
    session: Session, tmp_path: Path
) -> None:
    path = tmp_path / "a.json"
    resource = _obs("a", 1, "2020-01-01T00:00:00Z")
    path.write_bytes(_bundle(resource))
    session.import_paths([path])
    changed = copy.deepcopy(resource)
    changed["valueQuantity"]["value"] = 99
    path.write_bytes(_bundle(changed))  # same version metadata, different content
    report = session.import_paths([path])
    assert report.totals.updated == 1  # a tie goes to the newcomer, the old raw row is kept
    assert session.vault.conn.execute("SELECT count(*) FROM raw_resources").fetchone()[0] == 2


def test_an_import_checkpoints_at_the_end_and_restores_the_checkpoint_interval(
    session: Session, demo_files: list[Path]
) -> None:
    conn = session.vault.conn
    before = conn.execute("PRAGMA wal_autocheckpoint").fetchone()
    session.import_paths(demo_files)
    assert conn.execute("PRAGMA wal_autocheckpoint").fetchone() == before
    wal = session.vault.profile_dir / "vault.db-wal"
    assert not wal.exists() or wal.stat().st_size == 0
