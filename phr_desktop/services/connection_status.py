"""Each connected provider's state as the dashboard and `phr connections` show it.

Apart from services/connections.py so that showing the dashboard reads these few rows without
importing the HTTP, OAuth and sync stack (httpx, authlib, joserfc: ~0.2 s of CPU) before the
first paint; that stack is imported when a sync, connect or disconnect first needs it.
"""

from __future__ import annotations

from dataclasses import dataclass

from phr_desktop.smart.search_plan import SearchRules
from phr_desktop.vault.connections import ConnectionStore, StoredConnection, TypeState
from phr_desktop.vault.database import Connection


@dataclass(frozen=True)
class ConnectionStatus:
    connection: StoredConnection
    types: dict[str, TypeState]
    token_expires_at: float | None
    records: int

    @property
    def missing(self) -> dict[str, str]:
        """{type: why} for the types whose last sync failed: data the provider holds that
        did not arrive."""
        return {t: s.detail for t, s in sorted(self.types.items()) if s.status == "failed"}

    @property
    def warnings(self) -> dict[str, str]:
        """{type: what the server said} for types fetched with a note (outcome entries, a
        category the server refused)."""
        return {t: s.detail for t, s in sorted(self.types.items()) if s.status == "ok" and s.detail}

    @property
    def searches(self) -> dict[str, str]:
        """{type: how it is searched} where this server needs more than `patient=`
        ("per category", "in full" when it refuses `_lastUpdated`)."""
        return SearchRules.from_config(self.connection.smart_config).describe()


def connection_statuses(conn: Connection) -> list[ConnectionStatus]:
    """Every connection with its per-type state, token expiry and how many records it holds."""
    store = ConnectionStore(conn)
    out = []
    for c in store.all():
        tokens = store.tokens(c.id)
        records = conn.execute(
            "SELECT count(*) FROM records WHERE source_id = ?", (c.source_id,)
        ).fetchone()[0]
        out.append(
            ConnectionStatus(
                c, store.type_states(c.id), tokens.expires_at if tokens else None, records
            )
        )
    return out
