"""The records rows RecordStore writes, and what goes with each: where a built row holds each
column, the records upsert, the search index row and its words, the timeline's counts of added
records, and the fact keys a row brings to fact linking."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from operator import itemgetter
from typing import Any

from phr_desktop.domain.same_fact import fact_hash, same_content_key
from phr_desktop.vault.database import Connection, id_chunks
from phr_desktop.vault.prepared import RECORD_COLUMNS, RecordData

# Where fact_key sits in a records row as RecordStore._write_records builds it (id, raw_id,
# source_id, RECORD_COLUMNS but the last, source_system, same_as).
_FACT_COLUMN = RECORD_COLUMNS.index("fact_key")
_FACT_KEY = 3 + _FACT_COLUMN
# What fact_links.links_of_added needs of such a row: (id, fact_key, effective, precision, kind).
_LINKED_COLUMNS = itemgetter(
    0, _FACT_KEY, *(3 + RECORD_COLUMNS.index(c) for c in ("effective", "precision", "kind"))
)

_KIND, _CATEGORY, _FACILITY, _SORT_DATE = (
    RECORD_COLUMNS.index(name) for name in ("kind", "category", "facility", "sort_date")
)
# Where such a row holds what the timeline counts by (the
# bucket is its sort_date's first 7 characters, as in migration m0012).
_ROW_KIND, _ROW_SORT_DATE = 3 + _KIND, 3 + _SORT_DATE
_ROW_SYSTEM = 3 + len(RECORD_COLUMNS) - 1
_COUNT_ADDED = (
    "INSERT INTO timeline_counts (bucket, kind, source_system, shown) VALUES (?, ?, ?, ?) "
    "ON CONFLICT (bucket, kind, source_system) DO UPDATE SET shown = shown + excluded.shown"
)
# The search index row of a record: its kind and `about` words come with it (search_words);
# the patient's notes, kept with the record when a newer version replaces it, are read here.
INSERT_SEARCH_ROW = (
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
UPSERT_RECORD = f"""
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


def with_links(rows: list[tuple[Any, ...]], links: dict[int, int]) -> list[tuple[Any, ...]]:
    """The rows with the record each repeats as their last value (same_as)."""
    if not links:
        return rows
    return [(*row[:-1], links[row[0]]) if row[0] in links else row for row in rows]


def with_content_key(
    record: RecordData | None, resource_type: str, sha256: str
) -> RecordData | None:
    """A record no fact rule names gets the key of its exact content (same_content_key)."""
    if record is None or record[0][_FACT_COLUMN] is not None:
        return record
    columns, tags, search, flagged = record
    key = fact_hash(same_content_key(resource_type, sha256))
    columns = (*columns[:_FACT_COLUMN], key, *columns[_FACT_COLUMN + 1 :])
    return columns, tags, search, flagged


def count_added(conn: Connection, rows: Sequence[tuple[Any, ...]], first_added: int) -> None:
    """Add the shown records just inserted (ids from `first_added` on) to the timeline's
    counts, one upsert per month, kind and source (migration m0016: no trigger per row).
    A record rewritten in place is counted by the update triggers."""
    counted = Counter(
        ((row[_ROW_SORT_DATE] or "")[:7], row[_ROW_KIND], row[_ROW_SYSTEM] or "")
        for row in rows
        if row[0] >= first_added and row[-1] is None
    )
    conn.executemany(_COUNT_ADDED, [(*key, n) for key, n in counted.items()])


def rewritten_facts(
    rows: Sequence[tuple[Any, ...]], first_added: int, old_keys: set[int]
) -> set[int]:
    """The facts one of whose records is rewritten in place (a new version of its
    resource, id before `first_added`): its old keys and its new ones."""
    return old_keys | {
        row[_FACT_KEY] for row in rows if row[0] < first_added and row[_FACT_KEY] is not None
    }


def added_to_link(
    rows: Sequence[tuple[Any, ...]], first_added: int, rewritten: set[int]
) -> list[tuple[Any, ...]]:
    """What fact_links.links_of_added needs of each added record (id from `first_added` on)
    with a fact key, but for the records of a `rewritten` fact."""
    return [
        _LINKED_COLUMNS(row)
        for row in rows
        if row[0] >= first_added and row[_FACT_KEY] is not None
        and row[_FACT_KEY] not in rewritten
    ]  # fmt: skip


def fact_keys(conn: Connection, record_ids: Sequence[int]) -> set[int]:
    """The fact keys these stored records have (before a new version rewrites them)."""
    keys: set[int] = set()
    for chunk in id_chunks(record_ids):
        marks = ",".join("?" * len(chunk))
        keys.update(
            row[0]
            for row in conn.execute(
                f"SELECT fact_key FROM records WHERE id IN ({marks}) AND fact_key IS NOT NULL",
                chunk,
            )
        )
    return keys
