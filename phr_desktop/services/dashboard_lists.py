"""Two lists a caregiver asks for first: the medicines taken now, and what arrived since the
last sync (or, with no provider connected, the last import)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from phr_desktop.services.session import RecordFilter, StoredRecord

if TYPE_CHECKING:
    from phr_desktop.services.session import Session

# A medicine is current when a statement or prescription says so; infusion log entries
# (MedicationAdministration) are events, not the medicine list.
_LIST_TYPES = ("MedicationStatement", "MedicationRequest")
_CURRENT = ("active", "intended", "on-hold")


def current_medications(session: Session, limit: int = 12) -> list[StoredRecord]:
    """Newest first, one line per medicine (the same name from two sources is one)."""
    seen: set[str] = set()
    found: list[StoredRecord] = []
    for stored in session.records(RecordFilter(kinds=("medication",))):
        r = stored.record
        if r.resource_type not in _LIST_TYPES or (r.status or "").lower() not in _CURRENT:
            continue
        key = r.title.strip().lower()
        if key in seen:
            continue
        seen.add(key)
        found.append(stored)
        if len(found) >= limit:
            break
    return found


def last_arrival(session: Session) -> str | None:
    """When the last sync (or, without providers, the last import) started (UTC ISO)."""
    conn = session.vault.conn
    synced = conn.execute("SELECT MAX(last_sync_at) FROM connections").fetchone()[0]
    if synced:
        return str(synced)
    imported = conn.execute("SELECT MAX(started_at) FROM import_jobs").fetchone()[0]
    return str(imported) if imported else None


def new_since_last_sync(session: Session, limit: int = 8) -> list[StoredRecord]:
    """Records stored since the last sync (or import) began, newest first by their date."""
    since = last_arrival(session)
    if since is None:
        return []
    ids = [
        row[0]
        for row in session.vault.conn.execute(
            "SELECT r.id FROM records r JOIN raw_resources w ON w.id = r.raw_id "
            "WHERE w.fetched_at >= ? AND r.kind != 'patient' "
            "ORDER BY r.sort_date DESC, r.id DESC LIMIT ?",
            (since, limit),
        )
    ]
    by_id = {s.id: s for s in session.records_by_ids(ids)}
    return [by_id[i] for i in ids if i in by_id]
