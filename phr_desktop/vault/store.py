"""Write raw resources and their derived records, in bulk, inside the caller's transaction.

Raw rows are never changed except their `is_current` flag: a newer version of a resource is a
new raw row that takes over the record; an older or identical one changes nothing visible.

RecordStore orchestrates a write; the rules and rows it uses are beside it: which version is
current (raw_versions.py), the records rows, search rows and counts (record_writes.py), and
sources and received files (source_documents.py, its base).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import Any

from phr_desktop.domain.same_fact import identifier_key
from phr_desktop.vault import fact_links
from phr_desktop.vault.database import Connection, id_chunks
from phr_desktop.vault.prepared import (
    PreparedResource,
    RecordData,
    record_data,
    version_fields,
)
from phr_desktop.vault.raw_json import load_raw
from phr_desktop.vault.raw_versions import StoredVersion, is_newer, stored_versions
from phr_desktop.vault.record_writes import (
    INSERT_SEARCH_ROW,
    UPSERT_RECORD,
    added_to_link,
    count_added,
    fact_keys,
    rewritten_facts,
    search_words,
    with_content_key,
    with_links,
)
from phr_desktop.vault.source_documents import SourceDocuments
from phr_desktop.vault.stage_times import StageTimes
from phr_desktop.vault.timestamps import now_iso
from phr_desktop.vault.write_types import IncomingResource, Normaliser, WriteCounts

# The stages of writing, as an import's breakdown names them (StageTimes.lap).
STAGE_RAW = "write: raw resources"
STAGE_RECORDS = "write: records"
STAGE_LINKS = "write: fact links"
STAGE_INDEX = "write: tags and search index"


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
                with_content_key(record_of(index), items[index][0], items[index][2]),
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
        for chunk in id_chunks(previous_ids):
            marks = ",".join("?" * len(chunk))
            existing.update(
                self.conn.execute(
                    f"SELECT raw_id, id FROM records WHERE raw_id IN ({marks})", chunk
                ).fetchall()
            )
        next_record = first_added = self._next_id("records")
        # Each row ends with same_as: None here; the repeats among the added records get
        # theirs before the rows are inserted (with_links).
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
            old_keys = fact_keys(self.conn, [r for (r,) in replaced])
            rewritten = rewritten_facts(rows, first_added, old_keys)
            links = self._link_facts(rows, first_added, rewritten, (source_id, document_id))
            rows = with_links(rows, links)
            self.times.lap(STAGE_LINKS)
        self.conn.executemany(UPSERT_RECORD, rows)
        count_added(self.conn, rows, first_added)
        self.times.lap(STAGE_RECORDS)
        if link_facts and rewritten:
            self._relink_rewritten(rewritten, old_keys)
            self.times.lap(STAGE_LINKS)
        self.conn.executemany("DELETE FROM record_tags WHERE record_id = ?", replaced)
        self.conn.executemany("INSERT INTO record_tags (tag, record_id) VALUES (?, ?)", tag_rows)
        self.conn.executemany("DELETE FROM search_index WHERE rowid = ?", replaced)
        self.conn.executemany(INSERT_SEARCH_ROW, fts_rows)
        self.times.lap(STAGE_INDEX)
        counts.records += len(rows)

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
        added = added_to_link(rows, first_added, rewritten)
        return fact_links.links_of_added(self.conn, added, first_added, origin)

    def _relink_rewritten(self, rewritten: set[int], old_keys: set[int]) -> None:
        """Relink whole every fact one of whose records was rewritten in place: its new
        version may have left the fact, joined another, or moved in time."""
        fact_links.relink(self.conn, fact_links.shared_keys(self.conn, rewritten) | old_keys)

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
                    with_content_key(
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
