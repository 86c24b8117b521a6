"""The narrow rows the record PDF's tables show: only the columns printed, one kind at a time,
oldest first, read as the table is laid out.

Reading whole records by id a page at a time (every column, a `Record` and its dates,
quantities and codes built for each) was a third of a 74k-record PDF's CPU time (issue 16);
one query per kind, in the order the table prints, reads each row once and builds nothing.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from phr_desktop.vault.queries import RecordFilter, RecordQueries
from phr_desktop.vault.stored_record import parsed_codes, parsed_quality

_SHOWN = (
    "r.id, r.effective, r.precision, r.title, r.status, r.value_num, r.unit, r.value_text, "
    "r.ref_low, r.ref_high, r.ref_text, r.interpretation, r.source_system, r.facility, r.quality"
)
_WITH_CODES = f"{_SHOWN}, r.resource_type, r.codes"
_ROWS_PER_FETCH = 1000
_NO_NOTES: tuple[str, ...] = ()
_NO_NOTES_BY_ID: Mapping[int, tuple[str, ...]] = {}
_NO_FLAGS: tuple[str, ...] = ()  # a record's quality flags, when it has none ("[]")
_NO_CODES: tuple[Any, ...] = ()


def shown_rows(
    queries: RecordQueries,
    record_filter: RecordFilter,
    kind: str,
    *,
    with_codes: bool,
    notes: Mapping[int, tuple[str, ...]] = _NO_NOTES_BY_ID,
) -> Iterator[tuple[Any, ...]]:
    """The records `record_filter` lists of this kind, oldest first (the timeline's order
    reversed), each as (id, effective, precision, title, status, value_num, unit, value_text,
    ref_low, ref_high, ref_text, interpretation, source_system, facility, quality flags, text,
    notes, resource type, codes): the fields of interop's `ShownRow`, in its order. A record
    read back has no free text; its notes are taken from `notes` (by record id); the resource
    type and codes are read only `with_codes` (else "" and ())."""
    where, params = queries.where(record_filter, "r.kind = ?", [kind])
    columns = _WITH_CODES if with_codes else _SHOWN
    cursor = queries.conn.execute(
        f"SELECT {columns} FROM records r{where} ORDER BY r.sort_date, r.id", params
    )
    noted = notes.get
    try:
        while batch := cursor.fetchmany(_ROWS_PER_FETCH):
            for row in batch:
                quality = row[14]
                yield (
                    *row[:14],
                    _NO_FLAGS if quality == "[]" else parsed_quality(quality),
                    "",
                    noted(row[0], _NO_NOTES),
                    row[15] if with_codes else "",
                    parsed_codes(row[16]) if with_codes else _NO_CODES,
                )
    finally:
        cursor.close()  # a table left part read (a cancelled export) lets go of its statement


# What the summary of a long export reads instead of every record's key: the database counts
# and compares in C what a pass over 74k rows in Python took 0.3-0.4 s of CPU to find.
_NOT_PATIENT = "r.kind != 'patient'"  # the Patient is the export's subject, not a record


def kind_counts(queries: RecordQueries, record_filter: RecordFilter) -> dict[str, int]:
    """How many records `record_filter` lists of each kind (the Patient left out)."""
    where, params = queries.where(record_filter, _NOT_PATIENT)
    sql = f"SELECT r.kind, count(*) FROM records r{where} GROUP BY r.kind"
    return dict(queries.conn.execute(sql, params).fetchall())


def date_span(
    queries: RecordQueries, record_filter: RecordFilter
) -> tuple[tuple[str, str] | None, tuple[str, str] | None]:
    """(effective, precision) of the earliest and of the latest dated record, by the dates'
    sort keys; of equal ones, the first in export order (oldest first, by date then id).
    A record's sort_date is its date's sort key (vault/prepared.py), so the date index
    finds both without reading every record."""
    where, params = queries.where(
        record_filter,
        f"{_NOT_PATIENT} AND r.sort_date IS NOT NULL AND r.sort_date != ''"
        " AND r.effective IS NOT NULL AND r.effective != ''",
    )
    found = []
    for order in ("r.sort_date, r.id", "r.sort_date DESC, r.id"):
        sql = f"SELECT r.effective, r.precision FROM records r{where} ORDER BY {order} LIMIT 1"
        row = queries.conn.execute(sql, params).fetchone()
        found.append((row[0], row[1]) if row else None)
    return found[0], found[1]


def source_systems(queries: RecordQueries, record_filter: RecordFilter) -> list[str]:
    """The source systems the records name, by name (those naming none left out).

    Each record shown (each fact once) is counted by its source in `timeline_counts` (kept by
    triggers, migration m0012), so its few sources are the only candidates: each is kept when
    the filter lists a record of it, a lookup that stops at the first. A DISTINCT over every
    record read the whole table (0.1-0.2 s of a 74k-record PDF, 0.9 s at 500k) to find one
    name. Every copy of a fact (`every_source`) is not counted there: those are scanned."""
    if record_filter.every_source:
        return _distinct_sources(queries, record_filter)
    candidates = queries.conn.execute(
        "SELECT DISTINCT source_system FROM timeline_counts "
        "WHERE shown > 0 AND source_system != '' AND kind != 'patient' ORDER BY source_system"
    ).fetchall()
    found = []
    for (source,) in candidates:
        where, params = queries.where(
            record_filter, f"{_NOT_PATIENT} AND r.source_system = ?", [source]
        )
        if queries.conn.execute(f"SELECT 1 FROM records r{where} LIMIT 1", params).fetchone():
            found.append(source)
    return found


def _distinct_sources(queries: RecordQueries, record_filter: RecordFilter) -> list[str]:
    where, params = queries.where(
        record_filter, f"{_NOT_PATIENT} AND r.source_system IS NOT NULL AND r.source_system != ''"
    )
    sql = f"SELECT DISTINCT r.source_system FROM records r{where} ORDER BY r.source_system"
    return [row[0] for row in queries.conn.execute(sql, params)]
