"""Narrow reads for the summaries (milestones, the AATD overview, the dashboard's lists).

Each reads only the columns a summary decides on, of the records one fact once (`SHOWN`) and
visible (restricted ones left out unless revealed), through an index where one serves. The
summary then builds full records for what it shows only: at 500k records building every
medication and diagnosis as a `StoredRecord` to keep a handful took seconds.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple

from phr_desktop.vault.queries import RecordQueries
from phr_desktop.vault.search import SHOWN

_NEWEST_FIRST = "ORDER BY r.sort_date DESC, r.id DESC"
# The partial indexes of schema 12 serve a query only when it holds their terms as written;
# the queries name them (INDEXED BY), as SQLite without statistics prefers the kind index.
_HAS_TEXT_VALUE = "r.value_text IS NOT NULL"
_CLASSED_KINDS = ("encounter", "procedure")
_CLASSED_KINDS_SQL = "r.kind IN ('encounter', 'procedure')"
# How many of the newest records are looked at for "new since the last sync" before the
# arrival-time index is asked instead: after a sync or a large import the newest records are
# the new ones, and eight are found at once.
_NEWEST_WINDOW = 2_000


class CodedRow(NamedTuple):
    """What the AATD pack decides on: a record's kind, title and codes (as stored, JSON)."""

    id: int
    kind: str
    title: str
    codes_json: str


class ListedMedication(NamedTuple):
    id: int
    resource_type: str
    status: str | None
    title: str


class SummaryReads:
    def __init__(self, queries: RecordQueries) -> None:
        self.queries = queries
        self.conn = queries.conn

    def coded_rows(self, kinds: Sequence[str], category: str | None = None) -> list[CodedRow]:
        """Records of these kinds (and this category, when given), newest first."""
        marks = ",".join("?" * len(kinds))
        where_category = "" if category is None else " AND r.category = ?"
        params = (*kinds, category) if category is not None else tuple(kinds)
        rows = self.conn.execute(
            "SELECT r.id, r.kind, r.title, r.codes FROM records r "
            f"WHERE {SHOWN} AND r.kind IN ({marks}){where_category}{self.queries.and_visible()} "
            f"{_NEWEST_FIRST}",
            params,
        )
        return [CodedRow(*row) for row in rows]

    def ids_of_class(self, kind: str, classes: Sequence[str]) -> list[int]:
        """Visits or procedures of any of these classes (category, case aside), newest first:
        admissions, emergency visits, surgery."""
        if kind not in _CLASSED_KINDS:
            raise ValueError(f"{kind!r} is not one of {_CLASSED_KINDS}")
        marks = ",".join("?" * len(classes))
        rows = self.conn.execute(
            "SELECT r.id FROM records r INDEXED BY records_by_class "
            f"WHERE {SHOWN} AND {_CLASSED_KINDS_SQL} AND r.kind = ? "
            f"AND upper(r.category) IN ({marks}){self.queries.and_visible()} {_NEWEST_FIRST}",
            (kind, *[c.upper() for c in classes]),
        )
        return [row[0] for row in rows]

    def listed_medications(self) -> list[ListedMedication]:
        """Every medication record's type, status and title, newest first."""
        rows = self.conn.execute(
            "SELECT r.id, r.resource_type, r.status, r.title FROM records r "
            f"WHERE {SHOWN} AND r.kind = 'medication'{self.queries.and_visible()} "
            f"{_NEWEST_FIRST}"
        )
        return [ListedMedication(*row) for row in rows]

    def distinct_text_values(self, kind: str) -> list[str]:
        """The distinct text results of one kind: far fewer than the records holding them
        ("Negative", "Yellow"…), so a parser runs once per text, not once per result."""
        rows = self.conn.execute(
            "SELECT DISTINCT r.value_text FROM records r INDEXED BY records_by_text_value "
            f"WHERE {SHOWN} AND r.kind = ? "
            f"AND {_HAS_TEXT_VALUE}{self.queries.and_visible()}",
            (kind,),
        )
        return [row[0] for row in rows]

    def newest_with_text_value(self, kind: str, texts: Sequence[str]) -> int | None:
        """The newest record of one kind whose text result is one of these."""
        if not texts:
            return None
        marks = ",".join("?" * len(texts))
        row = self.conn.execute(
            "SELECT r.id FROM records r INDEXED BY records_by_text_value "
            f"WHERE {SHOWN} AND r.kind = ? AND {_HAS_TEXT_VALUE} "
            f"AND r.value_text IN ({marks}){self.queries.and_visible()} {_NEWEST_FIRST} LIMIT 1",
            (kind, *texts),
        ).fetchone()
        return int(row[0]) if row else None

    def newest_arrived_since(self, since: str, limit: int) -> list[int]:
        """Records (not the patient's own) whose resource arrived at or after `since`, newest
        first by their date. The newest records are looked at first, where a sync's or an
        import's records usually are; when fewer are found there, the arrival-time index
        finds the rest of the new ones, however old their dates."""
        arrived = (
            f"{SHOWN} AND r.kind != 'patient'{self.queries.and_visible()} "
            "AND (SELECT w.fetched_at FROM raw_resources w WHERE w.id = r.raw_id) >= ?"
        )
        window = self.conn.execute(
            f"SELECT r.id FROM (SELECT r.id, r.raw_id, r.kind, r.same_as, r.sort_date "
            f"FROM records r WHERE {SHOWN} {_NEWEST_FIRST} LIMIT ?) r WHERE {arrived} "
            f"{_NEWEST_FIRST} LIMIT ?",
            (_NEWEST_WINDOW, since, limit),
        ).fetchall()
        if len(window) >= limit:
            return [row[0] for row in window]
        rows = self.conn.execute(
            "SELECT r.id FROM raw_resources w JOIN records r ON r.raw_id = w.id "
            f"WHERE w.fetched_at >= ? AND {SHOWN} AND r.kind != 'patient'"
            f"{self.queries.and_visible()} {_NEWEST_FIRST} LIMIT ?",
            (since, limit),
        )
        return [row[0] for row in rows]
