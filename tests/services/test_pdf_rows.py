"""The full-record PDF reads its tables' rows narrowly: one query per section of only the
columns it prints, oldest first, never whole records by id a page at a time (issue 16: that
read and the Records it built were a third of a 74k-record PDF's CPU time)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from phr_desktop.domain.records import RecordKind
from phr_desktop.interop.export_data import ShownRow
from phr_desktop.services.exporting import build_export_data, export
from phr_desktop.services.sensitivity import label_records
from phr_desktop.services.session import Session
from phr_desktop.services.tasks import Progress

# Reads of record rows (not the checks for restricted records, nor raw bodies).
RECORDS_READ = re.compile(r"^SELECT r\.id, r\.\w+.* FROM records r\b")
RECORDS_READ_BY_ID = re.compile(r"\bFROM records r WHERE r\.id IN\b")
NARROW_READ = re.compile(r"^SELECT r\.id, r\.effective, r\.precision, r\.title\b")


@pytest.fixture
def demo(session: Session, demo_files: list[Path]) -> Session:
    session.import_paths(demo_files)
    records = session.records()
    session.add_note(records[0].id, "Felt well that day.")
    session.add_note(records[len(records) // 3].id, "Asked about this at the next visit.")
    return session


def test_the_pdf_reads_each_section_in_one_narrow_query_and_no_record_by_id(
    demo: Session, tmp_path: Path
) -> None:
    reads: list[str] = []
    demo.vault.conn.set_trace_callback(
        lambda sql: reads.append(sql) if RECORDS_READ.search(sql) else None
    )

    def forget_gathering(step: Progress) -> None:
        if step.message.startswith("Writing"):
            reads.clear()  # choosing the records and their counts is not the tables' reading

    export(demo, "pdf", tmp_path / "record.pdf", progress=forget_gathering)
    demo.vault.conn.set_trace_callback(None)

    chosen = build_export_data(demo)
    sections = {kind.value for kind in RecordKind if chosen.of_kind(kind.value)}
    allergies = {entry.id for entry in chosen.of_kind(RecordKind.ALLERGY.value)}
    narrow_kinds = [_kind_in(sql) for sql in reads if NARROW_READ.search(sql)]
    by_id = [_ids_in(sql) for sql in reads if RECORDS_READ_BY_ID.search(sql)]
    # One narrow query per section shown; only the allergies are read whole (few, and their
    # status is told from their raw bodies).
    assert sorted(narrow_kinds) == sorted(sections - {RecordKind.ALLERGY.value})
    assert by_id == [allergies]


def _kind_in(sql: str) -> str:
    found = re.search(r"r\.kind = '(\w+)'", sql)
    assert found, sql
    return found[1]


def _ids_in(sql: str) -> set[int]:
    found = re.search(r"r\.id IN \(([\d,]+)\)", sql)
    assert found, sql
    return {int(i) for i in found[1].split(",")}


def test_narrow_rows_are_the_rows_of_the_gathered_records_in_the_same_order(
    demo: Session,
) -> None:
    walked = build_export_data(demo, walked=True)
    gathered = build_export_data(demo)
    noted = 0
    for kind in RecordKind:
        for with_codes in (False, True):
            narrow = list(walked.shown_rows(kind.value, with_codes=with_codes))
            expected = [ShownRow.of(entry) for entry in gathered.of_kind(kind.value)]
            if not with_codes:  # only asked for with codes: the lab results' charts
                expected = [row._replace(resource_type="", codes=()) for row in expected]
            assert narrow == expected, kind
        noted += sum(1 for row in narrow if row.notes)
    assert noted == 2


def test_records_counted_by_section_answer_as_the_gathered_records_do(demo: Session) -> None:
    by_section = build_export_data(demo, by_section=True)
    gathered = build_export_data(demo)
    assert not isinstance(by_section.records, tuple)

    assert len(by_section.records) == len(gathered.records) > 100
    assert by_section.date_span() == gathered.date_span() != (None, None)
    assert by_section.source_systems() == gathered.source_systems() != []
    for kind in RecordKind:
        assert by_section.count_of(kind.value) == len(gathered.of_kind(kind.value)), kind
        assert [e.id for e in by_section.of_kind(kind.value)] == [
            e.id for e in gathered.of_kind(kind.value)
        ]
        assert list(by_section.shown_rows(kind.value, with_codes=True)) == [
            ShownRow.of(entry) for entry in gathered.of_kind(kind.value)
        ]
    assert [e.id for e in by_section.records] == [e.id for e in gathered.records]
    assert [e.id for e in by_section.with_notes()] == [e.id for e in gathered.with_notes()]


def test_records_counted_by_section_keep_to_the_kinds_and_dates_chosen(demo: Session) -> None:
    chosen = {"kinds": ("lab_result", "allergy"), "since": "2015"}
    by_section = build_export_data(demo, **chosen, by_section=True)  # type: ignore[arg-type]
    gathered = build_export_data(demo, **chosen)  # type: ignore[arg-type]

    assert len(by_section.records) == len(gathered.records) > 0
    assert by_section.date_span() == gathered.date_span()
    assert by_section.source_systems() == gathered.source_systems()
    assert by_section.count_of("procedure") == 0
    assert list(by_section.shown_rows("procedure")) == []
    assert [e.id for e in by_section.of_kind("allergy", "procedure")] == [
        e.id for e in gathered.of_kind("allergy", "procedure")
    ]


def test_the_sources_named_are_those_of_the_records_chosen_not_of_every_record(
    demo: Session,
) -> None:
    """The cover's sources are found among the sources counted on write, each checked
    against the filter: a source whose records are all restricted, or all of kinds left out, is not
    named (a count by source includes them)."""
    riverside = "Riverside Pulmonary (Epic)"
    reads: list[str] = []
    demo.vault.conn.set_trace_callback(reads.append)
    every = build_export_data(demo, by_section=True).source_systems()
    demo.vault.conn.set_trace_callback(None)
    # Not a DISTINCT over every record (the whole table read for a name or two).
    assert not [sql for sql in reads if "DISTINCT r.source_system FROM records" in sql]
    assert riverside in every and len(every) >= 2
    theirs = [r.id for r in demo.records() if r.record.source_system == riverside]
    label_records(demo, theirs, "restricted")

    shown = build_export_data(demo, by_section=True).source_systems()
    assert shown == [s for s in every if s != riverside]
    revealed = build_export_data(demo, by_section=True, include_restricted=True)
    assert revealed.source_systems() == every
    for chosen in ({"kinds": ("lab_result",)}, {"since": "2020"}, {"kinds": ("allergy",)}):
        by_section = build_export_data(demo, by_section=True, **chosen)  # type: ignore[arg-type]
        gathered = build_export_data(demo, **chosen)  # type: ignore[arg-type]
        assert by_section.source_systems() == gathered.source_systems(), chosen
