"""The CCD and FHIR collection exports read their records a page at a time and write as they
go: what they write is what gathering every record gave, and they hold a few pages of records,
not all of them (500k records once took 2.5 GB for the CCD)."""

from __future__ import annotations

import dataclasses
import weakref
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from phr_desktop.interop.ccda import export as ccd_export
from phr_desktop.interop.export_data import ExportData, ExportRecord
from phr_desktop.interop.fhir import export as fhir_export
from phr_desktop.interop.fhir.export import collection_bundle
from phr_desktop.interop.pretty_xml_stream import PrettyXmlStream
from phr_desktop.services import export_records
from phr_desktop.services.exporting import build_export_data, export
from phr_desktop.services.session import Session
from phr_desktop.services.tasks import Cancelled, CancelToken, Progress
from tests.interop.ccd_golden import CASES, export_case
from tests.services.raw_body_reads import raw_body_reads

DEMO = next(case for case in CASES if case.name == "demo")


@pytest.fixture
def tiny_pages(monkeypatch: pytest.MonkeyPatch) -> int:
    """Pages of 7 records, 2 kept, and the records of grouped entries read 7 at a time: every
    section spans many pages, and a report's results or a vital sign's group are picked from
    all over it."""
    monkeypatch.setattr(export_records, "PAGE_SIZE", 7)
    monkeypatch.setattr(export_records, "KEPT_PAGES", 2)
    monkeypatch.setattr(ccd_export, "_GROUP_CHUNK", 7)
    return 7


@pytest.fixture
def demo(session: Session, demo_files: list[Path]) -> Session:
    session.import_paths(demo_files)
    first = session.records()[0]
    session.add_note(first.id, "Felt well that day.")
    return session


def test_a_ccd_read_in_tiny_pages_is_still_byte_for_byte_the_golden_one(
    session: Session, tmp_path: Path, tiny_pages: int
) -> None:
    assert export_case(DEMO, session, tmp_path / "ccd.xml") == DEMO.golden.read_bytes()


def test_a_fhir_collection_read_in_pages_is_the_one_gathering_every_record_gave(
    demo: Session, tiny_pages: int
) -> None:
    gathered = build_export_data(demo, every_source=True)
    walked = dataclasses.replace(
        build_export_data(demo, every_source=True, walked=True),
        generated_at=gathered.generated_at,
    )
    assert isinstance(gathered.records, tuple) and not isinstance(walked.records, tuple)
    assert len(walked.records) == len(gathered.records) > 100
    assert collection_bundle(walked) == collection_bundle(gathered)


def test_walked_records_choose_among_themselves_as_gathered_ones_do(
    demo: Session, tiny_pages: int
) -> None:
    gathered = build_export_data(demo)
    walked = build_export_data(demo, walked=True)

    def ids(records: Any) -> list[int]:
        return [r.id for r in records]

    assert ids(walked.records) == ids(gathered.records)
    assert ids(reversed(walked.records)) == ids(reversed(gathered.records))
    assert walked.records[-1].id == gathered.records[-1].id
    for kinds in (("lab_result", "imaging"), ("clinical_note", "document"), ("nothing",)):
        assert ids(walked.of_kind(*kinds)) == ids(gathered.of_kind(*kinds))
        reports = {"resource_types": ("DiagnosticReport", "DocumentReference")}
        assert ids(walked.of_kind(*kinds, **reports)) == ids(gathered.of_kind(*kinds, **reports))
    dated = {"where": lambda r: r.record.effective is not None and r.record.effective.year > 2015}
    assert ids(walked.of_kind("lab_result", **dated)) == ids(
        gathered.of_kind("lab_result", **dated)
    )
    assert ids(walked.with_notes()) == ids(gathered.with_notes()) != []
    assert walked.date_span() == gathered.date_span() != (None, None)


@pytest.fixture
def live_records(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """How many ExportRecords are alive each time an export writes a piece: a row or an entry
    of the CCD, an entry of the FHIR collection."""
    alive: weakref.WeakSet[ExportRecord] = weakref.WeakSet()
    made = ExportRecord.__init__

    def init(self: ExportRecord, *args: Any, **kwargs: Any) -> None:
        made(self, *args, **kwargs)
        alive.add(self)

    counts: list[int] = []
    flush = PrettyXmlStream.flush

    def counted_flush(self: PrettyXmlStream) -> None:
        counts.append(len(alive))
        flush(self)

    pieces = fhir_export.collection_pieces

    def counted_pieces(data: ExportData, extra: Any = ()) -> Iterator[bytes]:
        for piece in pieces(data, extra):
            counts.append(len(alive))
            yield piece

    monkeypatch.setattr(ExportRecord, "__init__", init)
    monkeypatch.setattr(PrettyXmlStream, "flush", counted_flush)
    monkeypatch.setattr(fhir_export, "collection_pieces", counted_pieces)
    return counts


@pytest.mark.parametrize("fmt", ["ccda", "fhir"])
def test_an_export_holds_a_few_pages_of_records_never_all_of_them(
    demo: Session, tmp_path: Path, tiny_pages: int, live_records: list[int], fmt: str
) -> None:
    records = len(build_export_data(demo).records)
    assert records > 50 * tiny_pages
    live_records.clear()

    export(demo, fmt, tmp_path / "out")

    assert len(live_records) > records / 2, "the export was not sampled as it wrote"
    # The CCD: two views of a section (its records, its reports) keep two pages each, and
    # a report's results are at hand while its entry is written. A few dozen of hundreds.
    assert max(live_records) <= 8 * tiny_pages, max(live_records)


def test_a_ccd_export_cancelled_as_writing_starts_reads_no_body_and_leaves_no_file(
    demo: Session, tmp_path: Path
) -> None:
    cancel = CancelToken()
    read_before_writing: list[int] = []

    def cancel_when_writing(step: Progress) -> None:
        if step.message.startswith("Writing"):
            read_before_writing.append(len(seen))  # the patient's, gathered
            cancel.cancel()

    folder = tmp_path / "exports"
    folder.mkdir()
    with raw_body_reads(demo.vault.conn) as seen, pytest.raises(Cancelled):
        export(demo, "ccda", folder / "ccd.xml", progress=cancel_when_writing, cancel=cancel)

    # The CCD stopped before its first section: no batch of bodies was read.
    assert len(seen) == read_before_writing[0]
    assert list(folder.iterdir()) == []  # neither the export nor its partial file
