"""Sensitivity in SQL: a record's level as it applies, the one clause that hides restricted
records from listings, and the patient's own labels (kept beside the record, like notes)."""

from __future__ import annotations

from collections.abc import Iterable

from phr_desktop.domain.sensitivity import LEVELS
from phr_desktop.vault.database import Connection
from phr_desktop.vault.errors import VaultError
from phr_desktop.vault.timestamps import now_iso

# The level of record `r` as it applies: the patient's label wins over the source's.
SENSITIVITY_SQL = (
    "coalesce((SELECT l.sensitivity FROM record_labels l WHERE l.record_id = r.id), "
    "r.source_sensitivity)"
)

# The ids of restricted records, and the records of `r` that are not. The restricted ids are
# few and found once per query (a partial index holds the source-restricted ones), so this
# costs little at 100k records, where a per-row label lookup would cost a probe per record.
RESTRICTED_IDS_SQL = (
    "SELECT id FROM records WHERE source_sensitivity = 'restricted' "
    "AND id NOT IN (SELECT record_id FROM record_labels) "
    "UNION ALL SELECT record_id FROM record_labels WHERE sensitivity = 'restricted'"
)
NOT_RESTRICTED_SQL = f"r.id NOT IN ({RESTRICTED_IDS_SQL})"


def any_restricted(conn: Connection) -> bool:
    """Whether any record is restricted now: when none is, listings skip the rule (a probe
    per row costs ~40% of listing 100k ids for nothing)."""
    row = conn.execute(
        "SELECT EXISTS (SELECT 1 FROM records r WHERE r.source_sensitivity = 'restricted' "
        f"AND {SENSITIVITY_SQL} = 'restricted') "
        "OR EXISTS (SELECT 1 FROM record_labels WHERE sensitivity = 'restricted')"
    ).fetchone()
    return bool(row[0])


def set_label(conn: Connection, record_ids: Iterable[int], level: str | None) -> int:
    """The patient's own level for these records (None: back to what the source said).
    Returns how many records it applied to; unknown ids are refused before anything changes."""
    if level is not None and level not in LEVELS:
        raise VaultError(f"Unknown sensitivity {level!r}; choose one of {', '.join(LEVELS)}.")
    ids = sorted(set(record_ids))
    known = {
        row[0]
        for start in range(0, len(ids), 500)
        for row in conn.execute(
            f"SELECT id FROM records WHERE id IN ({','.join('?' * len(ids[start : start + 500]))})",
            ids[start : start + 500],
        )
    }
    missing = [i for i in ids if i not in known]
    if missing:
        raise VaultError(
            f"There is no record {missing[0]} in this profile; nothing was labelled. "
            "`phr records --include-restricted` lists the record ids."
        )
    if level is None:
        conn.executemany("DELETE FROM record_labels WHERE record_id = ?", [(i,) for i in ids])
    else:
        stamp = now_iso()
        conn.executemany(
            "INSERT INTO record_labels (record_id, sensitivity, set_at) VALUES (?, ?, ?) "
            "ON CONFLICT (record_id) DO UPDATE SET sensitivity = excluded.sensitivity, "
            "set_at = excluded.set_at",
            [(i, level, stamp) for i in ids],
        )
    return len(ids)


def count_by_sensitivity(conn: Connection, record_ids: Iterable[int]) -> dict[str, int]:
    """How many of these records are at each level (every level present, zero or not)."""
    counts = dict.fromkeys(LEVELS, 0)
    ids = sorted(set(record_ids))
    for start in range(0, len(ids), 500):
        chunk = ids[start : start + 500]
        for level, n in conn.execute(
            f"SELECT {SENSITIVITY_SQL}, count(*) FROM records r "
            f"WHERE r.id IN ({','.join('?' * len(chunk))}) GROUP BY 1",
            chunk,
        ):
            counts[level] = counts.get(level, 0) + n
    return counts


def restricted_among(conn: Connection, record_ids: Iterable[int]) -> set[int]:
    """Which of these records are restricted, as their level applies now."""
    ids = sorted(set(record_ids))
    found: set[int] = set()
    for start in range(0, len(ids), 500):
        chunk = ids[start : start + 500]
        found.update(
            row[0]
            for row in conn.execute(
                f"SELECT r.id FROM records r WHERE r.id IN ({','.join('?' * len(chunk))}) "
                f"AND {SENSITIVITY_SQL} = 'restricted'",
                chunk,
            )
        )
    return found
