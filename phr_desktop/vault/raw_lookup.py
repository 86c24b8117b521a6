"""Raw resources found by what they are rather than by record: the Practitioner a record names,
the reports that read an imaging study. Only current versions are read."""

from __future__ import annotations

from phr_desktop.vault.database import Connection


def current_raw(
    conn: Connection, resource_type: str, resource_id: str, source_id: int | None = None
) -> bytes | None:
    """The current body of one resource; from `source_id` when that source sent it (ids are
    only unique per server), else from any source."""
    row = conn.execute(
        "SELECT body FROM raw_resources WHERE resource_type = ? AND resource_id = ? "
        "AND is_current = 1 ORDER BY (source_id = ?) DESC, id DESC LIMIT 1",
        (resource_type, resource_id, source_id if source_id is not None else -1),
    ).fetchone()
    return bytes(row[0]) if row else None


def record_source_id(conn: Connection, record_id: int) -> int | None:
    row = conn.execute("SELECT source_id FROM records WHERE id = ?", (record_id,)).fetchone()
    return int(row[0]) if row else None


def records_of_type(conn: Connection, resource_type: str) -> list[tuple[int, bytes]]:
    """(record id, raw body) of every record made from a resource of this type."""
    return [
        (int(rid), bytes(body))
        for rid, body in conn.execute(
            "SELECT r.id, w.body FROM records r JOIN raw_resources w ON w.id = r.raw_id "
            "WHERE r.resource_type = ? ORDER BY r.id",
            (resource_type,),
        )
    ]
