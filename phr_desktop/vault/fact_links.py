"""One fact once: link records that are the same fact (equal `fact_key`, same moment) so that
lists show one of them (`same_as IS NULL`) and it names every source.

The links are derived, like records: written as records are, rebuilt by a reindex. The record
with the lowest id of a fact is the one shown, so a later import never hides a record the
patient already saw (and wrote notes on). The patient's "these are different"
(`record_splits`) is kept by record id and respected by every relink.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from operator import itemgetter

from phr_desktop.domain.same_fact import TIMELESS_KINDS, moment_minute
from phr_desktop.vault.database import Connection, id_chunks

PENDING_SETTING = "fact_links_pending"
# Where a record comes from: (source id, source document id or None); see _Member.origin.
Origin = tuple[int, int | None]
# A record about to be written, as links_of_added needs it:
# (id, fact_key, effective, precision, kind).
AddedRecord = tuple[int, int, str | None, str | None, str]


@dataclass(frozen=True, slots=True)
class _Member:
    id: int
    # same_fact.moment_minute of its date: the same moment as another record when either is
    # None or both are equal (same_moment, worked out once per record, not per comparison).
    minute: str | None
    same_as: int | None
    # (source, file): a problem or allergy listed twice by one file or one connection is two
    # entries that source keeps apart (two COPD exacerbations), not one fact.
    origin: Origin
    timeless: bool


def _member(
    rid: int,
    effective: str | None,
    precision: str | None,
    same_as: int | None,
    origin: Origin,
    kind: str,
) -> _Member:
    timeless = kind in TIMELESS_KINDS  # a timeless fact compares no dates
    minute = None if timeless else moment_minute(effective, precision)
    return _Member(rid, minute, same_as, origin, timeless)


def shared_keys(conn: Connection, keys: Iterable[int]) -> set[int]:
    """Of these fact keys, those that more than one record has (one index walk per chunk)."""
    found: set[int] = set()
    for chunk in id_chunks(sorted(set(keys))):
        marks = ",".join("?" * len(chunk))
        found.update(
            row[0]
            for row in conn.execute(
                f"SELECT fact_key FROM records WHERE fact_key IN ({marks}) "
                "GROUP BY fact_key HAVING count(*) > 1",
                chunk,
            )
        )
    return found


def _splits(conn: Connection, ids: Sequence[int]) -> set[tuple[int, int]]:
    pairs: set[tuple[int, int]] = set()
    for chunk in id_chunks(sorted(ids)):
        marks = ",".join("?" * len(chunk))
        pairs.update(
            (a, b)
            for a, b in conn.execute(
                f"SELECT record_id, other_id FROM record_splits WHERE record_id IN ({marks}) "
                f"OR other_id IN ({marks})",
                (*chunk, *chunk),
            )
        )
    return pairs


def _split_pair(a: int, b: int) -> tuple[int, int]:
    return (a, b) if a < b else (b, a)


def relink(conn: Connection, keys: Iterable[int]) -> int:
    """Recompute the links of every record with one of these fact keys; returns the number of
    records whose link changed."""
    return _relink(conn, keys)


def links_of_added(
    conn: Connection, added: Sequence[AddedRecord], first_added: int, origin: Origin
) -> dict[int, int]:
    """The fact each record about to be added repeats, by record id (records shown are left
    out). The records get ids from `first_added` on, in id order, and come from one file or
    connection (`origin`); they are not in the vault yet, so each is written once, with its
    link, and never inserted as shown and then updated to a repeat.

    A fact shows its lowest id, and a record's link depends only on the records before it, so
    a record added later can repeat an older one but never change what an older one repeats:
    the older records keep their links, and of them only those shown are read (a problem that
    thirty files list is one shown record and many repeats, and the repeats are not read
    again on every file, not even as index entries: see `_older_shown`). Only for records
    that are new: a record rewritten in place (a new version of its resource) needs `relink`
    over its old and new key once it is written.
    """
    if not added:
        return {}
    in_batch = Counter(map(itemgetter(1), added))
    groups = _older_shown(conn, sorted(in_batch), first_added)
    wanted = groups.keys() | {key for key, n in in_batch.items() if n > 1}
    if not wanted:
        return {}
    for rid, key, effective, precision, kind in added:
        if key in wanted:
            groups.setdefault(key, []).append(
                _member(rid, effective, precision, None, origin, kind)
            )
    splits = _splits_among(conn, groups)
    return {
        member.id: target
        for group in groups.values()
        for member, target in _links_of(group, splits, first_added)
        if target is not None
    }


def _older_shown(
    conn: Connection, keys: Sequence[int], first_added: int
) -> dict[int, list[_Member]]:
    """The records shown before `first_added` with these fact keys, by key, in id order: one
    index probe per key, which also tells which keys are new to the vault."""
    groups: dict[int, list[_Member]] = {}
    for chunk in id_chunks(keys):
        marks = ",".join("?" * len(chunk))
        for rid, key, effective, precision, kind, source, document in conn.execute(
            "SELECT r.id, r.fact_key, r.effective, r.precision, r.kind, r.source_id, "
            "w.document_id FROM records r LEFT JOIN raw_resources w ON w.id = r.raw_id "
            f"WHERE r.fact_key IN ({marks}) AND r.same_as IS NULL AND r.id < ? ORDER BY r.id",
            (*chunk, first_added),
        ):
            groups.setdefault(key, []).append(
                _member(rid, effective, precision, None, (source, document), kind)
            )
    return groups


def _relink(conn: Connection, keys: Iterable[int]) -> int:
    groups: dict[int, list[_Member]] = {}
    for chunk in id_chunks(sorted(set(keys))):
        marks = ",".join("?" * len(chunk))
        for rid, key, effective, precision, same_as, kind, source, document in conn.execute(
            "SELECT r.id, r.fact_key, r.effective, r.precision, r.same_as, r.kind, r.source_id, "
            "w.document_id FROM records r LEFT JOIN raw_resources w ON w.id = r.raw_id "
            f"WHERE r.fact_key IN ({marks}) ORDER BY r.id",
            chunk,
        ):
            groups.setdefault(key, []).append(
                _member(rid, effective, precision, same_as, (source, document), kind)
            )
    return _write_links(conn, groups)


def _write_links(conn: Connection, groups: dict[int, list[_Member]]) -> int:
    splits = _splits_among(conn, groups)
    changes: list[tuple[int | None, int]] = []
    for group in groups.values():
        for member, target in _links_of(group, splits):
            if target != member.same_as:
                changes.append((target, member.id))
    conn.executemany("UPDATE records SET same_as = ? WHERE id = ?", changes)
    return len(changes)


def _splits_among(conn: Connection, groups: dict[int, list[_Member]]) -> set[tuple[int, int]]:
    """The patient's splits between any of these records (none read when there are none)."""
    if not _any_splits(conn):
        return set()
    return _splits(conn, [m.id for group in groups.values() for m in group])


def _any_splits(conn: Connection) -> bool:
    return conn.execute("SELECT 1 FROM record_splits LIMIT 1").fetchone() is not None


def _links_of(
    group: list[_Member], splits: set[tuple[int, int]], first_added: int | None = None
) -> Iterable[tuple[_Member, int | None]]:
    """Each member of one fact key's group (in id order) and the record it repeats, or None
    for a record shown: the first shown record that is the same moment and not split off.
    Members older than `first_added` are read only when shown, and stay shown."""
    shown: list[_Member] = []
    # A problem or allergy repeats the first shown record of another source or file: one
    # candidate per origin, however long one source's list of the same code is.
    first_by_origin: dict[Origin, _Member] = {}
    for member in group:
        if first_added is not None and member.id < first_added:
            shown.append(member)
            first_by_origin.setdefault(member.origin, member)
            continue
        # Generators: the first candidate that fits ends the search.
        candidates: Iterable[_Member]
        if member.timeless:
            candidates = (s for origin, s in first_by_origin.items() if origin != member.origin)
        elif member.minute is None:  # only a day: every shown record of the key is that day
            candidates = shown
        else:
            candidates = (s for s in shown if s.minute is None or s.minute == member.minute)
        target = next(
            (s.id for s in candidates if not splits or _split_pair(s.id, member.id) not in splits),
            None,
        )
        if target is None:
            shown.append(member)
            first_by_origin.setdefault(member.origin, member)
        yield member, target


def unlink_orphans(conn: Connection) -> None:
    """Records pointing at a record that is gone or has no key any more are shown again."""
    conn.execute(
        "UPDATE records SET same_as = NULL WHERE same_as IS NOT NULL AND (fact_key IS NULL "
        "OR NOT EXISTS (SELECT 1 FROM records c WHERE c.id = records.same_as))"
    )


def relink_all(conn: Connection) -> int:
    """Every link again (after a reindex, an upgrade, or records deleted)."""
    unlink_orphans(conn)
    keys = [
        row[0]
        for row in conn.execute("SELECT DISTINCT fact_key FROM records WHERE fact_key IS NOT NULL")
    ]
    changed = relink(conn, keys)
    conn.execute("DELETE FROM settings WHERE key = ?", (PENDING_SETTING,))
    return changed


def links_pending(conn: Connection) -> bool:
    return (
        conn.execute("SELECT 1 FROM settings WHERE key = ?", (PENDING_SETTING,)).fetchone()
        is not None
    )


# --- the patient's "these are different" ------------------------------------------------------


def fact_of(conn: Connection, record_id: int) -> list[int]:
    """The ids of every record of this record's fact (itself first)."""
    row = conn.execute(
        "SELECT coalesce(same_as, id) FROM records WHERE id = ?", (record_id,)
    ).fetchone()
    if row is None:
        return []
    shown = int(row[0])
    others = [
        int(r[0])
        for r in conn.execute(
            "SELECT id FROM records WHERE (id = ?1 OR same_as = ?1) AND id != ?2 ORDER BY id",
            (shown, record_id),
        )
    ]
    return [record_id, *others]


def split(conn: Connection, record_id: int, other_id: int) -> None:
    """Keep two records apart from now on, through every relink and reindex."""
    a, b = _split_pair(record_id, other_id)
    conn.execute(
        "INSERT OR IGNORE INTO record_splits (record_id, other_id, created_at) VALUES (?, ?, ?)",
        (a, b, datetime.now(UTC).isoformat(timespec="seconds")),
    )
    _relink_records(conn, (a, b))


def unsplit(conn: Connection, record_id: int, other_id: int) -> bool:
    """Undo a split; True if there was one."""
    a, b = _split_pair(record_id, other_id)
    cur = conn.execute("DELETE FROM record_splits WHERE record_id = ? AND other_id = ?", (a, b))
    _relink_records(conn, (a, b))
    return bool(cur.rowcount)


def splits_of(conn: Connection, record_id: int) -> list[int]:
    """The records the patient said are different from this one."""
    return [
        int(r[0])
        for r in conn.execute(
            "SELECT other_id FROM record_splits WHERE record_id = ?1 UNION "
            "SELECT record_id FROM record_splits WHERE other_id = ?1 ORDER BY 1",
            (record_id,),
        )
    ]


def _relink_records(conn: Connection, ids: Sequence[int]) -> None:
    marks = ",".join("?" * len(ids))
    keys = [
        r[0]
        for r in conn.execute(
            f"SELECT DISTINCT fact_key FROM records WHERE id IN ({marks}) AND fact_key IS NOT NULL",
            tuple(ids),
        )
    ]
    relink(conn, keys)
