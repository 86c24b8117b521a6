"""Read records back: filters, full-text search, timeline buckets, and the patient's notes."""

from __future__ import annotations

import sys
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import orjson

from phr_desktop.domain.records import (
    Code,
    DatePrecision,
    PartialDate,
    Quantity,
    Record,
    RecordKind,
    ReferenceRange,
)
from phr_desktop.domain.search_query import Vocabulary
from phr_desktop.vault.code_lookup import CANDIDATES_SQL, codes_match_expression
from phr_desktop.vault.database import Connection
from phr_desktop.vault.search import SHOWN, SearchAnswer, SearchIndex
from phr_desktop.vault.sensitivity import (
    NOT_RESTRICTED_SQL,
    RESTRICTED_IDS_SQL,
    SENSITIVITY_SQL,
    any_restricted,
)
from phr_desktop.vault.store import now_iso

_COLUMNS = (
    "r.id, r.resource_type, r.resource_id, r.kind, r.category, r.title, r.effective, "
    "r.precision, r.value_num, r.value_text, r.unit, r.ref_low, r.ref_high, r.ref_text, "
    "r.interpretation, r.codes, r.status, r.source_system, r.facility, r.encounter_ref, "
    "r.quality, (SELECT group_concat(tag, ' ') FROM record_tags t WHERE t.record_id = r.id), "
    f"{SENSITIVITY_SQL}, r.source_sensitivity"
)
# The same columns without the tags: the exports never show or test a record's tags, and the
# per-row tags subquery was a tenth of a 74k-record PDF's reading (issue 16).
_COLUMNS_NO_TAGS = _COLUMNS.replace(
    "(SELECT group_concat(tag, ' ') FROM record_tags t WHERE t.record_id = r.id)", "NULL"
)
assert _COLUMNS_NO_TAGS != _COLUMNS


@dataclass(frozen=True)
class StoredRecord:
    id: int
    record: Record
    # As it applies: the patient's own label, else what the source said (record.sensitivity).
    sensitivity: str = "normal"


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

# Ids per `IN (...)` query when reading raw bodies in bulk: well under SQLite's bound on
# parameters, and few enough bodies (a few MB) to hold at once.
RAW_BODY_BATCH = 500


def _shared(text: Any) -> Any:
    """One string object for each repeated value (a source's name, a LOINC system, a title):
    125k Synthea records hold few distinct ones, and sharing them took the records' memory
    from 199 MB to 120 MB. Anything but a string is returned as it is."""
    return sys.intern(text) if type(text) is str else text


# Records repeat a few code lists and flag lists (every result of one test carries the same
# codes): each distinct JSON text is parsed once and its tuple shared. Bounded, so a vault of
# mostly distinct codes does not keep them all.
_PARSED_LIMIT = 20_000
_codes_parsed: dict[str, tuple[Code, ...]] = {}
_quality_parsed: dict[str, tuple[str, ...]] = {}
# The enums by value: a dict lookup, where calling the enum class costs a microsecond each.
_KINDS = {k.value: k for k in RecordKind}
_PRECISIONS = {p.value: p for p in DatePrecision}


def parsed_codes(text: str) -> tuple[Code, ...]:
    codes = _codes_parsed.get(text)
    if codes is None:
        if len(_codes_parsed) > _PARSED_LIMIT:
            _codes_parsed.clear()
        codes = _codes_parsed[text] = tuple(Code(*map(_shared, c)) for c in orjson.loads(text))
    return codes


def parsed_quality(text: str) -> tuple[str, ...]:
    quality = _quality_parsed.get(text)
    if quality is None:
        if len(_quality_parsed) > _PARSED_LIMIT:
            _quality_parsed.clear()
        quality = _quality_parsed[text] = tuple(orjson.loads(text))
    return quality


def _new_record(**values: Any) -> Record:
    """Record(**values), every field given, without the frozen dataclass's __init__: it sets
    each of its 19 fields through object.__setattr__, 0.4 s of CPU for the 74k records of a
    full PDF export (issue 16). The record is the same (tests/vault/test_record_rows.py)."""
    record = object.__new__(Record)
    record.__dict__.update(values)
    return record


def _record_from_row(row: Sequence[Any]) -> StoredRecord:
    (
        rid,
        rtype,
        res_id,
        kind,
        category,
        title,
        effective,
        precision,
        value_num,
        value_text,
        unit,
        ref_low,
        ref_high,
        ref_text,
        interpretation,
        codes,
        status,
        source_system,
        facility,
        encounter_ref,
        quality,
        tags,
        sensitivity,
        source_sensitivity,
    ) = row
    value = (
        Quantity(value_num, _shared(unit), _shared(value_text))
        if value_num is not None or value_text is not None
        else None
    )
    ref = (
        ReferenceRange(ref_low, ref_high, ref_text)
        if ref_low is not None or ref_high is not None or ref_text
        else None
    )
    record = _new_record(
        resource_type=_shared(rtype),
        resource_id=res_id,
        kind=_KINDS.get(kind) or RecordKind(kind),
        title=_shared(title),
        category=_shared(category),
        effective=(
            PartialDate(effective, _PRECISIONS.get(precision) or DatePrecision(precision))
            if effective
            else None
        ),
        value=value,
        reference_range=ref,
        interpretation=_shared(interpretation),
        codes=parsed_codes(codes),
        tags=frozenset(tags.split()) if tags else frozenset(),
        status=_shared(status),
        source_system=_shared(source_system),
        facility=_shared(facility),
        encounter_ref=_shared(encounter_ref),
        text="",  # not a column read here: a record read back has none, as with the constructor
        quality=parsed_quality(quality),
        sensitivity=source_sensitivity,
    )
    return StoredRecord(rid, record, sensitivity)


def _code_candidates(codes: Sequence[str]) -> tuple[str, list[str]]:
    """The clause that takes a code lookup's candidates from the full-text index (see
    vault/code_lookup.py), or none when a code cannot be looked up there."""
    expression = codes_match_expression(codes)
    return ("", []) if expression is None else (f" AND {CANDIDATES_SQL}", [expression])


class RecordQueries:
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
            f"SELECT {_COLUMNS} FROM records r{where} "
            "ORDER BY r.sort_date DESC, r.id DESC LIMIT ? OFFSET ?"
        )
        return [_record_from_row(row) for row in self.conn.execute(sql, [*params, limit, offset])]

    def records(self, f: RecordFilter = NO_FILTER) -> list[StoredRecord]:
        where, params = self._where(f)
        sql = f"SELECT {_COLUMNS} FROM records r{where} ORDER BY r.sort_date DESC, r.id DESC"
        if f.limit is not None:
            sql += " LIMIT ? OFFSET ?"
            params.extend([f.limit, f.offset])
        return [_record_from_row(row) for row in self.conn.execute(sql, params)]

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
        columns = _COLUMNS if with_tags else _COLUMNS_NO_TAGS
        for start in range(0, len(ids), 500):
            chunk = list(ids[start : start + 500])
            marks = ",".join("?" * len(chunk))
            for row in self.conn.execute(
                f"SELECT {columns} FROM records r WHERE r.id IN ({marks})", chunk
            ):
                stored = _record_from_row(row)
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
            f"SELECT {_COLUMNS} FROM records r WHERE {SHOWN} AND {kind_term} = ? AND ({matches})"
            f"{indexed}{self._and_visible()} ORDER BY r.sort_date DESC, r.id DESC",
            (kind, *needles, *index_params),
        )
        return [_record_from_row(row) for row in rows]

    def with_code(self, code: str) -> list[StoredRecord]:
        """Records whose codes JSON holds `code` as a whole string, oldest first."""
        indexed, index_params = _code_candidates([code])
        rows = self.conn.execute(
            f"SELECT {_COLUMNS} FROM records r WHERE {SHOWN} AND instr(r.codes, ?) > 0"
            f"{indexed}{self._and_visible()} "
            "ORDER BY r.sort_date",
            (orjson.dumps(code).decode(), *index_params),
        )
        return [_record_from_row(row) for row in rows]

    def same_day_or_encounter(
        self, record_id: int, day: str | None, encounter: str | None
    ) -> list[StoredRecord]:
        rows = self.conn.execute(
            f"SELECT {_COLUMNS} FROM records r WHERE {SHOWN} AND r.id != ? AND ("
            "(? IS NOT NULL AND substr(r.sort_date, 1, 10) = ?) OR "
            f"(? IS NOT NULL AND r.encounter_ref = ?)){self._and_visible()} "
            "ORDER BY r.sort_date LIMIT 200",
            (record_id, day, day, encounter, encounter),
        )
        return [_record_from_row(row) for row in rows]

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

    def attachments(self, record_id: int) -> list[tuple[int, str, str, int]]:
        """(id, file name, content type, size) of the files attached to a record."""
        return list(
            self.conn.execute(
                "SELECT a.id, a.filename, a.content_type, a.size FROM attachments a "
                "LEFT JOIN records r ON r.raw_id = a.raw_id "
                "WHERE a.record_id = ?1 OR r.id = ?1 ORDER BY a.id",
                (record_id,),
            )
        )

    def attachment_data(self, attachment_id: int) -> bytes | None:
        row = self.conn.execute(
            "SELECT data FROM attachments WHERE id = ?", (attachment_id,)
        ).fetchone()
        return bytes(row[0]) if row else None

    def count(self, f: RecordFilter = NO_FILTER) -> int:
        where, params = self._where(f)
        return int(
            self.conn.execute(f"SELECT count(*) FROM records r{where}", params).fetchone()[0]
        )

    def record(self, record_id: int) -> StoredRecord | None:
        row = self.conn.execute(
            f"SELECT {_COLUMNS} FROM records r WHERE r.id = ?", (record_id,)
        ).fetchone()
        return _record_from_row(row) if row else None

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

    def origins_of(self, record_ids: Sequence[int]) -> dict[int, str]:
        """Each record's own source ("Imported files (alice.xml)"), not its fact's."""
        out: dict[int, str] = {}
        for start in range(0, len(record_ids), 500):
            chunk = list(record_ids[start : start + 500])
            marks = ",".join("?" * len(chunk))
            for rid, name, filename in self.conn.execute(
                "SELECT r.id, s.name, d.filename FROM records r "
                "JOIN sources s ON s.id = r.source_id "
                "LEFT JOIN raw_resources w ON w.id = r.raw_id "
                "LEFT JOIN source_documents d ON d.id = w.document_id "
                f"WHERE r.id IN ({marks})",
                chunk,
            ):
                out[rid] = f"{name} ({filename})" if filename else name
        return out

    def sources_of(self, record_ids: Sequence[int]) -> dict[int, list[str]]:
        """Every source of each of these records' facts: the source's name, and for a file
        the file's name ("Imported files (alice.xml)"), in the order they arrived."""
        shown_of: dict[int, int] = {}
        for start in range(0, len(record_ids), 500):
            chunk = list(record_ids[start : start + 500])
            marks = ",".join("?" * len(chunk))
            shown_of.update(
                self.conn.execute(
                    f"SELECT id, coalesce(same_as, id) FROM records WHERE id IN ({marks})", chunk
                ).fetchall()
            )
        shown_ids = sorted(set(shown_of.values()))
        found: dict[int, list[str]] = {}
        for start in range(0, len(shown_ids), 500):
            chunk = shown_ids[start : start + 500]
            marks = ",".join("?" * len(chunk))
            rows = self.conn.execute(
                "SELECT coalesce(r.same_as, r.id), s.name, d.filename FROM records r "
                "JOIN sources s ON s.id = r.source_id "
                "LEFT JOIN raw_resources w ON w.id = r.raw_id "
                "LEFT JOIN source_documents d ON d.id = w.document_id "
                f"WHERE r.id IN ({marks}) OR r.same_as IN ({marks}) ORDER BY r.id",
                (*chunk, *chunk),
            )
            for shown, name, filename in rows:
                label = f"{name} ({filename})" if filename else name
                names = found.setdefault(shown, [])
                if label not in names:
                    names.append(label)
        return {rid: found.get(shown_of.get(rid, rid), []) for rid in record_ids}

    def record_text(self, record_id: int) -> str:
        """The record's own text as indexed for search (a document's text, a note's body…)."""
        row = self.conn.execute(
            "SELECT body FROM search_index WHERE rowid = ?", (record_id,)
        ).fetchone()
        return str(row[0] or "") if row else ""

    def raw_body(self, record_id: int) -> bytes | None:
        row = self.conn.execute(
            "SELECT w.body FROM records r JOIN raw_resources w ON w.id = r.raw_id WHERE r.id = ?",
            (record_id,),
        ).fetchone()
        return bytes(row[0]) if row else None

    def raw_bodies(self, record_ids: Sequence[int]) -> dict[int, bytes]:
        """Raw bodies of many records by id, one query per `RAW_BODY_BATCH` ids: an export of
        100k records once issued 85,595 one-row queries. Unknown ids are left out."""
        found: dict[int, bytes] = {}
        for start in range(0, len(record_ids), RAW_BODY_BATCH):
            chunk = record_ids[start : start + RAW_BODY_BATCH]
            marks = ",".join("?" * len(chunk))
            rows = self.conn.execute(
                "SELECT r.id, w.body FROM records r JOIN raw_resources w ON w.id = r.raw_id "
                f"WHERE r.id IN ({marks})",
                tuple(chunk),
            )
            found.update((int(rid), bytes(body)) for rid, body in rows)
        return found

    def raw_body_and_source(self, record_id: int) -> tuple[bytes, str, dict[str, Any]] | None:
        """The record's raw resource with its source's kind and detail (a SMART source's
        `fhir_base`, say)."""
        row = self.conn.execute(
            "SELECT w.body, s.kind, s.detail FROM records r "
            "JOIN raw_resources w ON w.id = r.raw_id JOIN sources s ON s.id = w.source_id "
            "WHERE r.id = ?",
            (record_id,),
        ).fetchone()
        if row is None:
            return None
        try:
            detail = orjson.loads(row[2] or "{}")
        except orjson.JSONDecodeError:
            detail = {}
        return bytes(row[0]), str(row[1]), detail if isinstance(detail, dict) else {}

    # --- the patient's own notes ------------------------------------------------------------

    def add_note(self, record_id: int | None, text: str) -> int:
        stamp = now_iso()
        cur = self.conn.execute(
            "INSERT INTO notes (record_id, text, created_at, updated_at) VALUES (?, ?, ?, ?)",
            (record_id, text, stamp, stamp),
        )
        if record_id is not None:
            self._reindex_notes(record_id)
        return int(cur.lastrowid or 0)

    def notes(self, record_id: int) -> list[tuple[int, str, str]]:
        return list(
            self.conn.execute(
                "SELECT id, text, created_at FROM notes WHERE record_id = ? ORDER BY id",
                (record_id,),
            )
        )

    def _reindex_notes(self, record_id: int) -> None:
        self.conn.execute(
            "UPDATE search_index SET notes = (SELECT coalesce(group_concat(text, ' '), '') "
            "FROM notes WHERE record_id = ?1) WHERE rowid = ?1",
            (record_id,),
        )
