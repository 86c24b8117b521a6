"""List records: the filters' WHERE clause, pages and ids in timeline order, narrow reads by
code, full-text search and the counts by kind. Reads by id of a record's details and notes come
from RecordDetails (vault/record_details.py), rows built by vault/stored_record.py."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import orjson

from phr_desktop.domain.search_query import Vocabulary
from phr_desktop.vault.code_lookup import CANDIDATES_SQL, codes_match_expression
from phr_desktop.vault.database import Connection, id_chunks
from phr_desktop.vault.record_details import RecordDetails
from phr_desktop.vault.search import SHOWN, SearchAnswer, SearchIndex
from phr_desktop.vault.sensitivity import NOT_RESTRICTED_SQL, RESTRICTED_IDS_SQL, any_restricted
from phr_desktop.vault.stored_record import (
    STORED_COLUMNS,
    STORED_COLUMNS_NO_TAGS,
    StoredRecord,
    record_from_row,
)


@dataclass(frozen=True)
class RecordFilter:
    kinds: Sequence[str] = ()
    since: str | None = None  # ISO date prefix, inclusive
    until: str | None = None  # ISO date prefix, inclusive
    tag: str | None = None
    source_system: str | None = None
    text: str | None = None  # full-text query
    # Restricted records are left out unless asked for (or revealed for the session).
    include_restricted: bool = False
    limit: int | None = None
    offset: int = 0
    # Every record, also those repeating a fact another record shows (the FHIR collection
    # export keeps every source's resource).
    every_source: bool = False


NO_FILTER = RecordFilter()

# A words filter matching more records than this checks them against an index of records
# rather than reading each by id (see `_where`).
_MATCHES_READ_BY_ID = 2000


def _code_candidates(codes: Sequence[str]) -> tuple[str, list[str]]:
    """The clause that takes a code lookup's candidates from the full-text index (see
    vault/code_lookup.py), or none when a code cannot be looked up there."""
    expression = codes_match_expression(codes)
    return ("", []) if expression is None else (f" AND {CANDIDATES_SQL}", [expression])


class RecordQueries(RecordDetails):
    def __init__(self, conn: Connection, vocabulary: Vocabulary | None = None) -> None:
        self.conn = conn
        self.search_index = SearchIndex(conn, vocabulary or Vocabulary())
        # Set while the patient has revealed restricted records for this session.
        self.reveal_restricted = False

    def _shows_restricted(self, asked: bool = False) -> bool:
        """Whether restricted records may be listed: asked for, revealed, or there are none
        (then the rule is left out of the SQL, which costs nothing)."""
        return asked or self.reveal_restricted or not any_restricted(self.conn)

    def _and_visible(self) -> str:
        """The sensitivity rule for the narrow reads (charts, milestones, related records,
        the dashboard) that take no filter: restricted left out unless revealed."""
        return "" if self._shows_restricted() else f" AND {NOT_RESTRICTED_SQL}"

    def and_visible(self) -> str:
        """`_and_visible` for the narrow reads of vault/summary_reads.py."""
        return self._and_visible()

    def _where(self, f: RecordFilter) -> tuple[str, list[Any]]:
        # One fact once: a record that repeats another (same_as) is listed through that one;
        # spelt exactly so, the partial indexes on records serve it.
        clauses: list[str] = [] if f.every_source else [SHOWN]
        params: list[Any] = []
        if not self._shows_restricted(f.include_restricted):
            clauses.append(NOT_RESTRICTED_SQL)
        if f.kinds:
            clauses.append(f"r.kind IN ({','.join('?' * len(f.kinds))})")
            params.extend(f.kinds)
        if f.since:
            clauses.append("r.sort_date >= ?")
            params.append(f.since)
        if f.until:
            # "2015" as an upper bound means through the end of 2015.
            clauses.append("substr(r.sort_date, 1, ?) <= ?")
            params.extend([len(f.until), f.until])
        if f.tag:
            clauses.append("r.id IN (SELECT record_id FROM record_tags WHERE tag = ?)")
            params.append(f.tag)
        if f.source_system:
            clauses.append("r.source_system = ?")
            params.append(f.source_system)
        if f.text:
            query = self.search_index.match_expression(f.text)
            if query:
                # A few matches are read by id. Many ("FEV1": 15% of 500,000) are checked
                # against a narrow index instead (the unary + keeps SQLite from driving the
                # query by id): reading them by id decrypts nearly every page of the table.
                many = self.search_index.matches_more_than(query, _MATCHES_READ_BY_ID)
                clauses.append(
                    f"{'+r.id' if many else 'r.id'} IN "
                    "(SELECT rowid FROM search_index WHERE search_index MATCH ?)"
                )
                params.append(query)
        return (" WHERE " + " AND ".join(clauses)) if clauses else "", params

    def shows_restricted(self, asked: bool = False) -> bool:
        """Whether listings include restricted records (see `_shows_restricted`)."""
        return self._shows_restricted(asked)

    def where(
        self, f: RecordFilter, also: str = "", also_params: Sequence[Any] = ()
    ) -> tuple[str, list[Any]]:
        """The WHERE clause over `records r` (with its parameters) of the records `f` lists,
        narrowed by the condition `also` when given."""
        where, params = self._where(f)
        if also:
            where = f"{where} AND {also}" if where else f" WHERE {also}"
            params.extend(also_params)
        return where, params

    def page(
        self, f: RecordFilter, also: str, also_params: Sequence[Any], limit: int, offset: int
    ) -> list[StoredRecord]:
        """One page of the records `f` lists that also meet `also`, in timeline order."""
        where, params = self.where(f, also, also_params)
        sql = (
            f"SELECT {STORED_COLUMNS} FROM records r{where} "
            "ORDER BY r.sort_date DESC, r.id DESC LIMIT ? OFFSET ?"
        )
        return [record_from_row(row) for row in self.conn.execute(sql, [*params, limit, offset])]

    def records(self, f: RecordFilter = NO_FILTER) -> list[StoredRecord]:
        where, params = self._where(f)
        sql = f"SELECT {STORED_COLUMNS} FROM records r{where} ORDER BY r.sort_date DESC, r.id DESC"
        if f.limit is not None:
            sql += " LIMIT ? OFFSET ?"
            params.extend([f.limit, f.offset])
        return [record_from_row(row) for row in self.conn.execute(sql, params)]

    def record_ids(self, f: RecordFilter = NO_FILTER) -> list[int]:
        """Only the ids, in timeline order: cheap even for 100,000 records (lazy views)."""
        where, params = self._where(f)
        sql = f"SELECT r.id FROM records r{where} ORDER BY r.sort_date DESC, r.id DESC"
        return [row[0] for row in self.conn.execute(sql, params)]

    def record_keys(
        self, f: RecordFilter = NO_FILTER
    ) -> Iterator[tuple[int, str, str, str | None, str | None, str | None]]:
        """(id, kind, resource type, effective, its precision, source system) of each record,
        in timeline order: what an export needs to walk 500k records without holding them (the
        rows are read as the caller goes)."""
        where, params = self._where(f)
        sql = (
            "SELECT r.id, r.kind, r.resource_type, r.effective, r.precision, r.source_system"
            f" FROM records r{where} ORDER BY r.sort_date DESC, r.id DESC"
        )
        yield from self.conn.execute(sql, params)

    def records_by_ids(self, ids: Sequence[int], *, with_tags: bool = True) -> list[StoredRecord]:
        """The records for these ids, in the order given (unknown ids are left out);
        `with_tags=False` leaves every record's tags empty, for readers that never use them."""
        found: dict[int, StoredRecord] = {}
        columns = STORED_COLUMNS if with_tags else STORED_COLUMNS_NO_TAGS
        for part in id_chunks(ids):
            chunk = list(part)
            marks = ",".join("?" * len(chunk))
            for row in self.conn.execute(
                f"SELECT {columns} FROM records r WHERE r.id IN ({marks})", chunk
            ):
                stored = record_from_row(row)
                found[stored.id] = stored
        return [found[i] for i in ids if i in found]

    def of_kind_with_codes(self, kind: str, codes: Sequence[str]) -> list[StoredRecord]:
        """Records of one kind carrying any of these codes (newest first): a narrow read for
        screens that need one kind of result out of 100,000 records."""
        if not codes:
            return []
        needles = [orjson.dumps(code).decode() for code in codes]
        matches = " OR ".join("instr(r.codes, ?) > 0" for _ in needles)
        indexed, index_params = _code_candidates(codes)
        # With candidates from the index, `+` keeps SQLite from scanning the kind index instead.
        kind_term = "+r.kind" if indexed else "r.kind"
        rows = self.conn.execute(
            f"SELECT {STORED_COLUMNS} FROM records r WHERE {SHOWN} AND {kind_term} = ? "
            f"AND ({matches})"
            f"{indexed}{self._and_visible()} ORDER BY r.sort_date DESC, r.id DESC",
            (kind, *needles, *index_params),
        )
        return [record_from_row(row) for row in rows]

    def with_code(self, code: str) -> list[StoredRecord]:
        """Records whose codes JSON holds `code` as a whole string, oldest first."""
        indexed, index_params = _code_candidates([code])
        rows = self.conn.execute(
            f"SELECT {STORED_COLUMNS} FROM records r WHERE {SHOWN} AND instr(r.codes, ?) > 0"
            f"{indexed}{self._and_visible()} "
            "ORDER BY r.sort_date",
            (orjson.dumps(code).decode(), *index_params),
        )
        return [record_from_row(row) for row in rows]

    def same_day_or_encounter(
        self, record_id: int, day: str | None, encounter: str | None
    ) -> list[StoredRecord]:
        rows = self.conn.execute(
            f"SELECT {STORED_COLUMNS} FROM records r WHERE {SHOWN} AND r.id != ? AND ("
            "(? IS NOT NULL AND substr(r.sort_date, 1, 10) = ?) OR "
            f"(? IS NOT NULL AND r.encounter_ref = ?)){self._and_visible()} "
            "ORDER BY r.sort_date LIMIT 200",
            (record_id, day, day, encounter, encounter),
        )
        return [record_from_row(row) for row in rows]

    def tags(self) -> list[str]:
        """Every tag in use, by name: one index seek per tag (a skip scan), where DISTINCT
        read every tagged record's row of the index (125,000 at 500k records)."""
        return [
            r[0]
            for r in self.conn.execute(
                "WITH RECURSIVE t(tag) AS (SELECT min(tag) FROM record_tags UNION ALL "
                "SELECT (SELECT min(tag) FROM record_tags WHERE tag > t.tag) FROM t "
                "WHERE t.tag IS NOT NULL) SELECT tag FROM t WHERE tag IS NOT NULL"
            )
        ]

    def count(self, f: RecordFilter = NO_FILTER) -> int:
        where, params = self._where(f)
        return int(
            self.conn.execute(f"SELECT count(*) FROM records r{where}", params).fetchone()[0]
        )

    def record(self, record_id: int) -> StoredRecord | None:
        row = self.conn.execute(
            f"SELECT {STORED_COLUMNS} FROM records r WHERE r.id = ?", (record_id,)
        ).fetchone()
        return record_from_row(row) if row else None

    def search(
        self, text: str, limit: int = 200, include_restricted: bool = False
    ) -> list[StoredRecord]:
        """Best matches first (see vault/search.py), over titles, codes, what a record is,
        notes and document text."""
        return self.search_answer(text, limit, include_restricted)[0]

    def search_answer(
        self, text: str, limit: int = 200, include_restricted: bool = False
    ) -> tuple[list[StoredRecord], SearchAnswer]:
        """The records best first, and the answer's spelling fixes and "did you mean"."""
        answer = self.search_index.search(
            text, limit, include_restricted=self._shows_restricted(include_restricted)
        )
        return self.records_by_ids(answer.ids), answer

    def counts_by_kind(self) -> dict[str, int]:
        """Records shown per kind, from the timeline's kept counts (migration m0012) less the
        restricted ones unless revealed: no pass over every record."""
        counts = dict(
            self.conn.execute(
                "SELECT kind, sum(shown) FROM timeline_counts GROUP BY kind ORDER BY kind"
            )
        )
        if not self._shows_restricted():
            for kind, n in self.conn.execute(
                f"SELECT r.kind, count(*) FROM records r WHERE {SHOWN} "
                f"AND r.id IN ({RESTRICTED_IDS_SQL}) GROUP BY r.kind"
            ):
                counts[kind] -= n
        return {kind: n for kind, n in counts.items() if n > 0}
