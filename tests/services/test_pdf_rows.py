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
from phr_desktop.services.session import Session
from phr_desktop.services.tasks import Progress

# Reads of record rows (not the checks for restricted records, nor raw bodies).
RECORDS_READ = re.compile(r"^SELECT r\.id, r\.\w+.* FROM records r\b")
RECORDS_READ_BY_ID = re.compile(r"\bFROM records r WHERE r\.id IN\b")


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
    sections = [kind for kind in RecordKind if chosen.of_kind(kind.value)]
    allergies = {entry.id for entry in chosen.of_kind(RecordKind.ALLERGY.value)}
    by_id = [sql for sql in reads if RECORDS_READ_BY_ID.search(sql)]
    # Only the allergies are read whole (few, and their status is told from their bodies).
    assert [_ids_in(sql) for sql in by_id] == [allergies]
    # One narrow query per section shown, and that one read of the allergies.
    assert len(reads) == len(sections)


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
