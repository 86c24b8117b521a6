"""Write raw resources and their derived records, in bulk, inside the caller's transaction.

Raw rows are never changed except their `is_current` flag: a newer version of a resource is a
new raw row that takes over the record; an older or identical one changes nothing visible.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from operator import itemgetter
from typing import Any

from phr_desktop.domain.same_fact import fact_hash, identifier_key, same_content_key
from phr_desktop.vault import fact_links
from phr_desktop.vault.database import Connection
from phr_desktop.vault.prepared import (
    RECORD_COLUMNS,
    PreparedResource,
    RecordData,
    record_data,
    version_fields,
)
from phr_desktop.vault.raw_json import load_raw
from phr_desktop.vault.raw_versions import StoredVersion, is_newer, stored_versions
from phr_desktop.vault.source_documents import SourceDocuments
from phr_desktop.vault.stage_times import StageTimes
from phr_desktop.vault.timestamps import now_iso
from phr_desktop.vault.write_types import IncomingResource, Normaliser, WriteCounts

# The stages of writing, as an import's breakdown names them (StageTimes.lap).
STAGE_RAW = "write: raw resources"
STAGE_RECORDS = "write: records"
STAGE_LINKS = "write: fact links"
STAGE_INDEX = "write: tags and search index"
# Where fact_key sits in a records row as _write_records builds it (id, raw_id, source_id, …).
_FACT_COLUMN = RECORD_COLUMNS.index("fact_key")
_FACT_KEY = 3 + _FACT_COLUMN
# What fact_links.links_of_added needs of such a row: (id, fact_key, effective, precision, kind).
_LINKED_COLUMNS = itemgetter(
    0, _FACT_KEY, *(3 + RECORD_COLUMNS.index(c) for c in ("effective", "precision", "kind"))
)
_CHUNK = 500


_KIND, _CATEGORY, _FACILITY, _SORT_DATE = (
    RECORD_COLUMNS.index(name) for name in ("kind", "category", "facility", "sort_date")
)
# Where a records row as _write_records builds it holds what the timeline counts by (the
# bucket is its sort_date's first 7 characters, as in migration m0012).
_ROW_KIND, _ROW_SORT_DATE = 3 + _KIND, 3 + _SORT_DATE
_ROW_SYSTEM = 3 + len(RECORD_COLUMNS) - 1
_COUNT_ADDED = (
    "INSERT INTO timeline_counts (bucket, kind, source_system, shown) VALUES (?, ?, ?, ?) "
    "ON CONFLICT (bucket, kind, source_system) DO UPDATE SET shown = shown + excluded.shown"
)
# The search index row of a record: its kind and `about` words come with it (search_words);
# the patient's notes, kept with the record when a newer version replaces it, are read here.
_INSERT_SEARCH_ROW = (
    "INSERT INTO search_index (rowid, title, codes, kind, about, notes, body) VALUES "
    "(?1, ?2, ?3, ?4, ?5, "
    "(SELECT coalesce(group_concat(text, ' '), '') FROM notes WHERE record_id = ?1), ?6)"
)


def search_words(
    columns: Sequence[Any], tags: Sequence[str], source_system: str
) -> tuple[str, str]:
    """What a record is, as words for the search index's `kind` ("lab result") and `about`
    columns (category, tags, facility, source system and year), exactly as schema 8's
    migration derives them in SQL from the stored record; built here, not by a subquery per
    row, because an import writes a row per record (`columns`: RECORD_COLUMNS' values, `tags`
    sorted as record_tags' index returns them)."""
    about = " ".join(
        (
            columns[_CATEGORY] or "",
            " ".join(tag.replace("_", " ") for tag in tags),
            columns[_FACILITY] or "",
            source_system,
            (columns[_SORT_DATE] or "")[:4],
        )
    )
    return columns[_KIND].replace("_", " "), about


# A record's row: id, raw_id, source_id, RECORD_COLUMNS, same_as. A record rewritten in place
# (a conflict on id) is shown until its fact is relinked.
_UPSERT_RECORD = f"""
INSERT INTO records (id, raw_id, source_id, {", ".join(RECORD_COLUMNS)}, same_as)
VALUES ({", ".join("?" * (4 + len(RECORD_COLUMNS)))})
ON CONFLICT (id) DO UPDATE SET raw_id = excluded.raw_id, kind = excluded.kind,
    category = excluded.category, title = excluded.title, effective = excluded.effective,
    precision = excluded.precision, sort_date = excluded.sort_date,
    value_num = excluded.value_num, value_text = excluded.value_text, unit = excluded.unit,
    ref_low = excluded.ref_low, ref_high = excluded.ref_high, ref_text = excluded.ref_text,
    interpretation = excluded.interpretation, codes = excluded.codes, status = excluded.status,
    source_system = excluded.source_system, facility = excluded.facility,
    encounter_ref = excluded.encounter_ref, quality = excluded.quality,
    fact_key = excluded.fact_key, same_as = NULL,
    source_sensitivity = excluded.source_sensitivity
"""


def _with_links(rows: list[tuple[Any, ...]], links: dict[int, int]) -> list[tuple[Any, ...]]:
    """The rows with the record each repeats as their last value (same_as)."""
    if not links:
        return rows
    return [(*row[:-1], links[row[0]]) if row[0] in links else row for row in rows]


def _with_content_key(
    record: RecordData | None, resource_type: str, sha256: str
) -> RecordData | None:
    """A record no fact rule names gets the key of its exact content (same_content_key)."""
    if record is None or record[0][_FACT_COLUMN] is not None:
        return record
    columns, tags, search, flagged = record
    key = fact_hash(same_content_key(resource_type, sha256))
    columns = (*columns[:_FACT_COLUMN], key, *columns[_FACT_COLUMN + 1 :])
    return columns, tags, search, flagged


class RecordStore(SourceDocuments):
    def __init__(self, conn: Connection) -> None:
        self.conn = conn
        # Laps of the writing stages; an import puts its own here and starts the lap.
        self.times = StageTimes()
        # Sources known to have held no raw rows when a writer began filling them, with the
        # resources this store has written to each since (see `filling_new_source`).
        self._filling: dict[int, set[tuple[str, str]]] = {}

    def filling_new_source(self, source_id: int) -> bool:
        """Whether the source holds no raw resources yet; if so, until this is asked again,
        this store looks up stored versions only among the resources it has itself written
        to the source since (a first sync of 5,069 resources looked each one up in vain:
        ~25 ms). For one writer that fills a source alone, as a sync fills its connection's
        (one sync at a time)."""
        empty = (
            self.conn.execute(
                "SELECT 1 FROM raw_resources WHERE source_id = ? LIMIT 1", (source_id,)
            ).fetchone()
            is None
        )
        if empty:
            self._filling[source_id] = set()
        else:
            self._filling.pop(source_id, None)
        return empty

    def _next_id(self, table: str) -> int:
        return int(self.conn.execute(f"SELECT coalesce(max(id), 0) + 1 FROM {table}").fetchone()[0])

    def _stored_versions(
        self, source_id: int, keys: Iterable[tuple[str, str]]
    ) -> dict[tuple[str, str], list[StoredVersion]]:
        """Every stored raw version of these resources, by (type, id); one index lookup each,
        but none for a resource that cannot be stored yet (`filling_new_source`)."""
        wanted = set(keys)
        written = self._filling.get(source_id)
        if written is not None:
            asked = wanted
            wanted = asked & written
            # The caller stores every resource it asks about (or finds it unchanged): from
            # now on each may be found. A rolled-back write leaves some here that are not
            # stored, which only costs their lookup.
            written |= asked
        return stored_versions(self.conn, source_id, wanted)

    def write_resources(
        self,
        source_id: int,
        document_id: int | None,
        items: Sequence[IncomingResource],
        normalise: Normaliser,
        default_system: str,
        fetched_at: str | None = None,
    ) -> WriteCounts:
        """Store raw resources and (re)build their records. Call inside a transaction.

        Only resources that become current are normalised."""
        prepared: list[PreparedResource] = [
            (
                item.resource_type,
                item.resource_id,
                item.sha256,
                item.body,
                *version_fields(item.resource),
                None,
            )
            for item in items
        ]

        def record_of(index: int) -> RecordData | None:
            item = items[index]
            record = normalise(item.resource)
            if record is None:
                return None
            return record_data(record, identifier_key(item.resource_type, item.resource))

        return self._write(source_id, document_id, prepared, record_of, default_system, fetched_at)

    def write_prepared(
        self,
        source_id: int,
        document_id: int | None,
        items: Sequence[PreparedResource],
        default_system: str,
        fetched_at: str | None = None,
    ) -> WriteCounts:
        """Like write_resources, for resources normalised beforehand (on a worker process)."""
        return self._write(
            source_id, document_id, items, lambda i: items[i][6], default_system, fetched_at
        )

    def _write(
        self,
        source_id: int,
        document_id: int | None,
        items: Sequence[PreparedResource],
        record_of: Callable[[int], RecordData | None],
        default_system: str,
        fetched_at: str | None,
    ) -> WriteCounts:
        counts = WriteCounts()
        fetched_at = fetched_at or now_iso()
        # Within one file the last copy of a resource wins, as if imported one after another.
        latest: dict[tuple[str, str], int] = {}
        for index, (rtype, rid, *_) in enumerate(items):
            latest[(rtype, rid)] = index
        stored = self._stored_versions(source_id, latest)
        fresh = [
            i
            for key, i in latest.items()
            if all(v.sha256 != items[i][2] for v in stored.get(key, ()))
        ]
        counts.unchanged = len(items) - len(fresh)

        raw_rows: list[tuple[Any, ...]] = []
        retire: list[tuple[int]] = []
        promoted: list[tuple[int, int | None, int]] = []
        next_raw = self._next_id("raw_resources")
        for index in fresh:
            rtype, rid, sha256, body, version_id, last_updated, _ = items[index]
            versions = stored.get((rtype, rid), [])
            old = next((v for v in versions if v.is_current), None)
            becomes_current = old is None or is_newer(
                last_updated, version_id, old.last_updated, old.version
            )
            if old is None:
                counts.new += 1
            elif becomes_current:
                counts.updated += 1
                retire.append((old.raw_id,))
            else:
                counts.older_kept += 1
            raw_id = next_raw
            next_raw += 1
            raw_rows.append(
                (
                    raw_id, source_id, document_id, rtype, rid, version_id, last_updated,
                    fetched_at, sha256, body, 1 if becomes_current else 0,
                )
            )  # fmt: skip
            if becomes_current:
                promoted.append((raw_id, old.raw_id if old else None, index))
            counts.by_type[rtype] = counts.by_type.get(rtype, 0) + 1

        self.conn.executemany("UPDATE raw_resources SET is_current = 0 WHERE id = ?", retire)
        self.conn.executemany(
            "INSERT INTO raw_resources (id, source_id, document_id, resource_type, resource_id, "
            "version_id, last_updated, fetched_at, sha256, body, is_current) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            raw_rows,
        )
        self.times.lap(STAGE_RAW)
        built = [
            (
                raw_id,
                previous,
                _with_content_key(record_of(index), items[index][0], items[index][2]),
            )
            for raw_id, previous, index in promoted
        ]
        self._write_records(
            source_id,
            [(i, p, r) for i, p, r in built if r],
            default_system,
            counts,
            document_id=document_id,
        )
        return counts

    def _write_records(
        self,
        source_id: int,
        records: Sequence[tuple[int, int | None, RecordData]],
        default_system: str,
        counts: WriteCounts,
        link_facts: bool = True,
        document_id: int | None = None,
    ) -> None:
        """Write records given as (raw id, the raw id they replace or None, record), all
        from one source and document (the file, or None).

        A record keeps its id when its resource gets a new version, so notes stay attached;
        it is found through the replaced raw row's unique index, so a first import looks
        nothing up at all.
        """
        existing: dict[int, int] = {}
        previous_ids = sorted({p for _, p, _ in records if p is not None})
        for start in range(0, len(previous_ids), _CHUNK):
            chunk = previous_ids[start : start + _CHUNK]
            marks = ",".join("?" * len(chunk))
            existing.update(
                self.conn.execute(
                    f"SELECT raw_id, id FROM records WHERE raw_id IN ({marks})", chunk
                ).fetchall()
            )
        next_record = first_added = self._next_id("records")
        # Each row ends with same_as: None here; the repeats among the added records get
        # theirs before the rows are inserted (_with_links).
        rows: list[tuple[Any, ...]] = []
        tag_rows: list[tuple[str, int]] = []
        fts_rows: list[tuple[int, str, str, str, str, str]] = []
        replaced: list[tuple[int]] = []
        for raw_id, previous, (columns, tags, search, flagged) in records:
            record_id = existing.get(previous) if previous is not None else None
            if record_id is None:
                record_id = next_record
                next_record += 1
            else:
                replaced.append((record_id,))
            system = columns[-1] or default_system
            rows.append((record_id, raw_id, source_id, *columns[:-1], system, None))
            tag_rows.extend((tag, record_id) for tag in tags)
            title, codes, body = search
            fts_rows.append((record_id, title, codes, *search_words(columns, tags, system), body))
            counts.flagged += flagged
        rewritten: set[int] = set()
        old_keys: set[int] = set()
        if link_facts:
            self.times.lap(STAGE_RECORDS)
            old_keys = self._fact_keys([r for (r,) in replaced])
            rewritten = self._rewritten_facts(rows, first_added, old_keys)
            links = self._link_facts(rows, first_added, rewritten, (source_id, document_id))
            rows = _with_links(rows, links)
            self.times.lap(STAGE_LINKS)
        self.conn.executemany(_UPSERT_RECORD, rows)
        self._count_added(rows, first_added)
        self.times.lap(STAGE_RECORDS)
        if link_facts and rewritten:
            self._relink_rewritten(rewritten, old_keys)
            self.times.lap(STAGE_LINKS)
        self.conn.executemany("DELETE FROM record_tags WHERE record_id = ?", replaced)
        self.conn.executemany("INSERT INTO record_tags (tag, record_id) VALUES (?, ?)", tag_rows)
        self.conn.executemany("DELETE FROM search_index WHERE rowid = ?", replaced)
        self.conn.executemany(_INSERT_SEARCH_ROW, fts_rows)
        self.times.lap(STAGE_INDEX)
        counts.records += len(rows)

    def _count_added(self, rows: Sequence[tuple[Any, ...]], first_added: int) -> None:
        """Add the shown records just inserted (ids from `first_added` on) to the timeline's
        counts, one upsert per month, kind and source (migration m0016: no trigger per row).
        A record rewritten in place is counted by the update triggers."""
        counted = Counter(
            ((row[_ROW_SORT_DATE] or "")[:7], row[_ROW_KIND], row[_ROW_SYSTEM] or "")
            for row in rows
            if row[0] >= first_added and row[-1] is None
        )
        self.conn.executemany(_COUNT_ADDED, [(*key, n) for key, n in counted.items()])

    @staticmethod
    def _rewritten_facts(
        rows: Sequence[tuple[Any, ...]], first_added: int, old_keys: set[int]
    ) -> set[int]:
        """The facts one of whose records is rewritten in place (a new version of its
        resource, id before `first_added`): its old keys and its new ones."""
        return old_keys | {
            row[_FACT_KEY] for row in rows if row[0] < first_added and row[_FACT_KEY] is not None
        }

    def _link_facts(
        self,
        rows: Sequence[tuple[Any, ...]],
        first_added: int,
        rewritten: set[int],
        origin: fact_links.Origin,
    ) -> dict[int, int]:
        """The fact each added record (id from `first_added` on) repeats, before it is written:
        a first import of one source finds no shared key and links nothing. Records of a
        `rewritten` fact are left for `_relink_rewritten`, once they are written."""
        added = [
            _LINKED_COLUMNS(row)
            for row in rows
            if row[0] >= first_added and row[_FACT_KEY] is not None
            and row[_FACT_KEY] not in rewritten
        ]  # fmt: skip
        return fact_links.links_of_added(self.conn, added, first_added, origin)

    def _relink_rewritten(self, rewritten: set[int], old_keys: set[int]) -> None:
        """Relink whole every fact one of whose records was rewritten in place: its new
        version may have left the fact, joined another, or moved in time."""
        fact_links.relink(self.conn, fact_links.shared_keys(self.conn, rewritten) | old_keys)

    def _fact_keys(self, record_ids: Sequence[int]) -> set[int]:
        keys: set[int] = set()
        for start in range(0, len(record_ids), _CHUNK):
            chunk = record_ids[start : start + _CHUNK]
            marks = ",".join("?" * len(chunk))
            keys.update(
                row[0]
                for row in self.conn.execute(
                    f"SELECT fact_key FROM records WHERE id IN ({marks}) AND fact_key IS NOT NULL",
                    chunk,
                )
            )
        return keys

    def rebuild_records(self, normalise: Normaliser) -> int:
        """Re-derive every record from the current raw resources (after a normaliser fix)."""
        total = 0
        sources = self.conn.execute("SELECT id, name FROM sources").fetchall()
        for source_id, name in sources:
            rows = self.conn.execute(
                "SELECT id, body, resource_type, sha256 FROM raw_resources "
                "WHERE source_id = ? AND is_current = 1",
                (source_id,),
            ).fetchall()
            built: list[tuple[int, int | None, RecordData]] = []
            for raw_id, body, rtype, sha in rows:
                resource = load_raw(body)
                record = normalise(resource)
                data = (
                    _with_content_key(
                        record_data(record, identifier_key(rtype, resource)), rtype, sha
                    )
                    if record
                    else None
                )
                if data is not None:
                    built.append((raw_id, raw_id, data))
            counts = WriteCounts()
            self._write_records(
                source_id,
                built,
                name,
                counts,
                link_facts=False,
            )
            total += counts.records
        fact_links.relink_all(self.conn)  # once, over every source
        return total
