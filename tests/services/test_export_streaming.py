"""Exports read raw bodies in batches, never one query per record, and write what they wrote
when every body was read up front, one by one."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from pathlib import Path

import orjson
import pytest

from phr_desktop.interop.ccda.export import build_ccd
from phr_desktop.interop.export_data import ExportData, ExportRecord
from phr_desktop.interop.fhir.export import collection_bundle, write_collection_bundle
from phr_desktop.interop.pdf.export import write_record_pdf
from phr_desktop.services.errors import ServiceError
from phr_desktop.services.export_bodies import BatchedBodies
from phr_desktop.services.exporting import build_export_data, export
from phr_desktop.services.session import RecordFilter, Session
from phr_desktop.services.tasks import Cancelled, CancelToken, Progress
from tests.services.raw_body_reads import raw_body_reads


@pytest.fixture
def demo(session: Session, demo_files: list[Path]) -> Session:
    session.import_paths(demo_files)
    first = session.records()[0]
    session.add_note(first.id, "Felt well that day.")
    return session


@pytest.fixture
def raw_body_queries(demo: Session) -> Iterator[list[str]]:
    """Every SQL statement that reads raw bodies, as the vault's connection runs it."""
    with raw_body_reads(demo.vault.conn) as seen:
        yield seen


def _read_one_by_one(session: Session, data: ExportData) -> ExportData:
    """The same export data with every body read up front, one record at a time, as exports
    did before they streamed: the reference their output must not differ from."""

    def eager(rec: ExportRecord) -> ExportRecord:
        return dataclasses.replace(rec, stored_body=session.raw_source(rec.id))

    return dataclasses.replace(
        data,
        patient=eager(data.patient) if data.patient else None,
        records=tuple(eager(r) for r in data.records),
    )


@pytest.mark.parametrize("fmt", ["fhir", "ccda", "pdf"])
def test_an_export_reads_raw_bodies_in_a_few_batches_not_one_query_per_record(
    demo: Session, raw_body_queries: list[str], tmp_path: Path, fmt: str
) -> None:
    records = len(demo.records())
    kinds = len(demo.counts_by_kind())
    assert records > 10 * kinds  # else one query per kind could not tell batches from rows

    export(demo, fmt, tmp_path / f"out.{fmt}")

    # At most one batch per kind (each batch holds up to 500 of one kind's bodies), and one
    # read for each Patient (every source's, read at once for the export's header).
    patients = len(demo.records(RecordFilter(kinds=("patient",), every_source=True)))
    allowed = kinds + patients
    assert len(raw_body_queries) <= allowed, f"{len(raw_body_queries)} raw-body queries"


def test_the_fhir_collection_is_byte_for_byte_what_reading_each_body_alone_gave(
    demo: Session, tmp_path: Path
) -> None:
    streamed = build_export_data(demo)
    reference = collection_bundle(_read_one_by_one(demo, streamed))

    written = tmp_path / "bundle.json"
    write_collection_bundle(streamed, written)

    assert written.read_bytes() == reference
    assert collection_bundle(streamed) == reference
    # And it is the one document orjson makes of the whole: every stored body spliced in.
    whole = orjson.loads(reference)
    assert len(whole["entry"]) == 1 + len(streamed.records) + 1  # patient, records, one note


def test_the_ccd_is_what_reading_each_body_alone_gave(demo: Session) -> None:
    streamed = build_export_data(demo)
    assert build_ccd(streamed) == build_ccd(_read_one_by_one(demo, streamed))


def test_the_pdf_is_what_reading_each_body_alone_gave(
    demo: Session, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from reportlab import rl_config

    monkeypatch.setattr(rl_config, "invariant", 1)  # no creation date or random document id
    streamed = build_export_data(demo)
    write_record_pdf(streamed, tmp_path / "streamed.pdf")
    write_record_pdf(_read_one_by_one(demo, streamed), tmp_path / "eager.pdf")
    assert (tmp_path / "streamed.pdf").read_bytes() == (tmp_path / "eager.pdf").read_bytes()


def test_bodies_are_read_a_batch_of_one_kind_at_a_time_and_only_that_batch_is_kept() -> None:
    reads: list[list[int]] = []

    def read(ids: list[int]) -> dict[int, bytes]:
        reads.append(list(ids))
        return {i: str(i).encode() for i in ids}

    walk = [(i, "lab" if i % 3 else "condition") for i in range(1, 13)]
    bodies = BatchedBodies(read, walk, batch=2)  # type: ignore[arg-type]

    assert [bodies.body(i) for i in range(1, 13)] == [str(i).encode() for i in range(1, 13)]
    # Interleaved kinds do not thrash: each kind keeps its own batch.
    assert reads == [[1, 2], [3, 6], [4, 5], [7, 8], [9, 12], [10, 11]]


def test_a_record_removed_while_exporting_is_a_clear_message() -> None:
    bodies = BatchedBodies(lambda ids: {}, [(1, "lab")])
    with pytest.raises(ServiceError, match="removed while exporting; run the export again"):
        bodies.body(1)


def test_a_fhir_export_cancelled_as_writing_starts_reads_no_body_and_leaves_no_file(
    demo: Session, raw_body_queries: list[str], tmp_path: Path
) -> None:
    cancel = CancelToken()
    read_before_writing: list[int] = []

    def cancel_when_writing(step: Progress) -> None:
        if step.message.startswith("Writing"):
            read_before_writing.append(len(raw_body_queries))  # the patient's, gathered
            cancel.cancel()

    folder = tmp_path / "exports"
    folder.mkdir()
    out = folder / "bundle.json"
    with pytest.raises(Cancelled):
        export(demo, "fhir", out, progress=cancel_when_writing, cancel=cancel)

    # The collection stopped before its first entry: no batch of bodies was read.
    assert len(raw_body_queries) == read_before_writing[0]
    assert list(folder.iterdir()) == []  # neither the export nor its partial file


def test_records_gathered_for_an_export_share_their_repeated_strings(demo: Session) -> None:
    # 125k records hold few distinct sources, code systems and titles; one copy per record
    # was ~40 % of the memory gathering them took.
    data = build_export_data(demo)
    labs = [r.record for r in data.records if r.record.kind.value == "lab_result"]
    first, *others = labs
    assert others
    same_source = [r for r in others if r.source_system == first.source_system]
    assert same_source and all(r.source_system is first.source_system for r in same_source)
    loinc = [c.system for r in labs for c in r.codes if c.system == "http://loinc.org"]
    assert len(loinc) > 1 and all(system is loinc[0] for system in loinc)
