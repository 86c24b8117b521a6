"""Two lists a caregiver asks for first: the medicines taken now, and what arrived since the
last sync (or, with no provider connected, the last import)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from phr_desktop.services.session import StoredRecord
from phr_desktop.vault.summary_reads import SummaryReads

if TYPE_CHECKING:
    from phr_desktop.services.session import Session

# A medicine is current when a statement or prescription says so; infusion log entries
# (MedicationAdministration) are events, not the medicine list.
_LIST_TYPES = ("MedicationStatement", "MedicationRequest")
_CURRENT = ("active", "intended", "on-hold")


def current_medications(session: Session, limit: int = 12) -> list[StoredRecord]:
    """Newest first, one line per medicine (the same name from two sources is one). Decided
    on narrow rows; only the medicines listed are read in full."""
    seen: set[str] = set()
    found: list[int] = []
    for med in SummaryReads(session.queries).listed_medications():
        if med.resource_type not in _LIST_TYPES or (med.status or "").lower() not in _CURRENT:
            continue
        key = med.title.strip().lower()
        if key in seen:
            continue
        seen.add(key)
        found.append(med.id)
        if len(found) >= limit:
            break
    return session.records_by_ids(found)


def last_arrival(session: Session) -> str | None:
    """When the last sync (or, without providers, the last import) started (UTC ISO)."""
    conn = session.vault.conn
    synced = conn.execute("SELECT MAX(last_sync_at) FROM connections").fetchone()[0]
    if synced:
        return str(synced)
    imported = conn.execute("SELECT MAX(started_at) FROM import_jobs").fetchone()[0]
    return str(imported) if imported else None


def new_since_last_sync(session: Session, limit: int = 8) -> list[StoredRecord]:
    """Records stored since the last sync (or import) began, newest first by their date; one
    fact once, and restricted ones left out unless revealed, as in every list."""
    since = last_arrival(session)
    if since is None:
        return []
    return session.records_by_ids(SummaryReads(session.queries).newest_arrived_since(since, limit))
