"""Stored SMART connections, their tokens and per-type sync state (all inside the vault)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import orjson

from phr_desktop.vault.database import Connection
from phr_desktop.vault.timestamps import now_iso


@dataclass(frozen=True)
class StoredConnection:
    id: int
    name: str
    fhir_base: str
    client_id: str
    source_id: int
    patient_id: str | None
    scope: str
    status: str
    smart_config: dict[str, Any]
    created_at: str
    last_sync_at: str | None
    last_full_sync_started_at: str | None
    last_error: str | None
    dynamic_client_id: str | None = None  # set when a device key renews the sign-in


@dataclass(frozen=True)
class StoredTokens:
    access_token: str
    refresh_token: str | None
    expires_at: float | None
    id_token: str | None


@dataclass(frozen=True)
class TypeState:
    resource_type: str
    status: str
    detail: str
    resume_url: str | None
    run_started_at: str | None
    run_full: bool
    fetched: int
    last_success_at: str | None


_CONNECTION_COLUMNS = (
    "id, name, fhir_base, client_id, source_id, patient_id, scope, status, smart_config, "
    "created_at, last_sync_at, last_full_sync_started_at, last_error, dynamic_client_id"
)


def _connection(row: Any) -> StoredConnection:
    values = list(row)
    values[8] = orjson.loads(values[8])
    return StoredConnection(*values)


class ConnectionStore:
    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    def add(
        self,
        name: str,
        fhir_base: str,
        client_id: str,
        source_id: int,
        patient_id: str | None,
        scope: str,
        smart_config: dict[str, Any],
    ) -> int:
        cur = self.conn.execute(
            "INSERT INTO connections (name, fhir_base, client_id, source_id, patient_id, scope, "
            "status, smart_config, created_at) VALUES (?, ?, ?, ?, ?, ?, 'active', ?, ?)",
            (
                name, fhir_base, client_id, source_id, patient_id, scope,
                orjson.dumps(smart_config).decode(), now_iso(),
            ),
        )  # fmt: skip
        return int(cur.lastrowid or 0)

    def all(self) -> list[StoredConnection]:
        rows = self.conn.execute(f"SELECT {_CONNECTION_COLUMNS} FROM connections ORDER BY name")
        return [_connection(r) for r in rows]

    def by_name(self, name: str) -> StoredConnection | None:
        row = self.conn.execute(
            f"SELECT {_CONNECTION_COLUMNS} FROM connections WHERE name = ?", (name,)
        ).fetchone()
        return _connection(row) if row else None

    def update(self, connection_id: int, **fields: Any) -> None:
        allowed = {
            "patient_id", "scope", "status", "last_sync_at", "last_full_sync_started_at",
            "last_error", "client_id", "smart_config",
        }  # fmt: skip
        if not fields or set(fields) - allowed:
            raise ValueError(f"cannot update {sorted(set(fields) - allowed)}")
        if "smart_config" in fields:
            fields["smart_config"] = orjson.dumps(fields["smart_config"]).decode()
        assignments = ", ".join(f"{k} = ?" for k in fields)
        self.conn.execute(
            f"UPDATE connections SET {assignments} WHERE id = ?", (*fields.values(), connection_id)
        )

    def delete(self, connection_id: int) -> None:
        self.conn.execute("DELETE FROM sync_seen WHERE connection_id = ?", (connection_id,))
        self.conn.execute("DELETE FROM connections WHERE id = ?", (connection_id,))

    # --- tokens ---------------------------------------------------------------------------

    def save_tokens(self, connection_id: int, tokens: StoredTokens) -> None:
        """Replace the tokens in one statement: a rotated refresh token is never lost."""
        self.conn.execute(
            "INSERT INTO tokens (connection_id, access_token, refresh_token, expires_at, id_token, "
            "updated_at) VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (connection_id) DO UPDATE SET "
            "access_token = excluded.access_token, refresh_token = excluded.refresh_token, "
            "expires_at = excluded.expires_at, id_token = excluded.id_token, "
            "updated_at = excluded.updated_at",
            (
                connection_id, tokens.access_token, tokens.refresh_token, tokens.expires_at,
                tokens.id_token, now_iso(),
            ),
        )  # fmt: skip

    def tokens(self, connection_id: int) -> StoredTokens | None:
        row = self.conn.execute(
            "SELECT access_token, refresh_token, expires_at, id_token FROM tokens "
            "WHERE connection_id = ?",
            (connection_id,),
        ).fetchone()
        return StoredTokens(*row) if row else None

    def drop_tokens(self, connection_id: int) -> None:
        self.conn.execute("DELETE FROM tokens WHERE connection_id = ?", (connection_id,))

    # --- device key (Epic-style dynamic client) -------------------------------------------------

    def save_device_key(self, connection_id: int, dynamic_client_id: str, private_jwk: str) -> None:
        """The private key is read back by `device_key` only: never part of StoredConnection,
        which the UI shows and logs may print."""
        self.conn.execute(
            "UPDATE connections SET dynamic_client_id = ?, device_key = ? WHERE id = ?",
            (dynamic_client_id, private_jwk, connection_id),
        )

    def device_key(self, connection_id: int) -> tuple[str, str] | None:
        """(dynamic client id, private JWK JSON), or None when the connection has none."""
        row = self.conn.execute(
            "SELECT dynamic_client_id, device_key FROM connections WHERE id = ?", (connection_id,)
        ).fetchone()
        return (row[0], row[1]) if row and row[0] and row[1] else None

    # --- sync state ---------------------------------------------------------------------------

    def _states(self, connection_id: int, per_search: bool) -> dict[str, TypeState]:
        rows = self.conn.execute(
            "SELECT resource_type, status, detail, resume_url, run_started_at, run_full, fetched, "
            "last_success_at FROM sync_state WHERE connection_id = ? AND "
            f"instr(resource_type, '?') {'>' if per_search else '='} 0",
            (connection_id,),
        )
        return {r[0]: TypeState(r[0], r[1], r[2], r[3], r[4], bool(r[5]), r[6], r[7]) for r in rows}

    def type_states(self, connection_id: int) -> dict[str, TypeState]:
        """Each resource type's sync state (what `phr connections` shows)."""
        return self._states(connection_id, per_search=False)

    def search_states(self, connection_id: int) -> dict[str, TypeState]:
        """The checkpoints of types searched once per category, by search key
        (`Observation?category=laboratory`): rows of sync_state beside the type's own."""
        return self._states(connection_id, per_search=True)

    def save_type_state(self, connection_id: int, state: TypeState) -> None:
        self.conn.execute(
            "INSERT INTO sync_state (connection_id, resource_type, status, detail, resume_url, "
            "run_started_at, run_full, fetched, last_success_at) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) "
            "ON CONFLICT (connection_id, resource_type) DO UPDATE SET status = excluded.status, "
            "detail = excluded.detail, resume_url = excluded.resume_url, "
            "run_started_at = excluded.run_started_at, run_full = excluded.run_full, "
            "fetched = excluded.fetched, last_success_at = excluded.last_success_at",
            (
                connection_id, state.resource_type, state.status, state.detail, state.resume_url,
                state.run_started_at, int(state.run_full), state.fetched, state.last_success_at,
            ),
        )  # fmt: skip

    def mark_seen(self, connection_id: int, resource_type: str, ids: list[str]) -> None:
        self.conn.executemany(
            "INSERT OR IGNORE INTO sync_seen (connection_id, resource_type, resource_id) "
            "VALUES (?, ?, ?)",
            [(connection_id, resource_type, rid) for rid in ids],
        )

    def seen_as_stored(self, connection_id: int, source_id: int, resource_type: str) -> None:
        """Count every stored resource of the type as seen by its full run, unless the run
        has marks already: for a run resumed after a first sync's part, which took none
        (each of its rows was one it received). Call for a resumed full run only."""
        if self.conn.execute(
            "SELECT 1 FROM sync_seen WHERE connection_id = ? AND resource_type = ? LIMIT 1",
            (connection_id, resource_type),
        ).fetchone():
            return
        self.conn.execute(
            "INSERT OR IGNORE INTO sync_seen (connection_id, resource_type, resource_id) "
            "SELECT ?, resource_type, resource_id FROM raw_resources WHERE source_id = ? "
            "AND resource_type = ? AND is_current = 1",
            (connection_id, source_id, resource_type),
        )

    def finish_full_sync(
        self, connection_id: int, source_id: int, resource_types: Sequence[str]
    ) -> int:
        """Mark current resources of these types that a full sync no longer returned (kept,
        never deleted); how many. Finding them reads every raw row of the source (no index
        has the type), so the types finished together share one pass."""
        if not resource_types:
            return 0
        marks = ",".join("?" * len(resource_types))
        cur = self.conn.execute(
            "UPDATE raw_resources SET missing_since = ? WHERE source_id = ? "
            f"AND resource_type IN ({marks}) AND is_current = 1 AND missing_since IS NULL "
            "AND NOT EXISTS (SELECT 1 FROM sync_seen s WHERE s.connection_id = ? "
            "AND s.resource_type = raw_resources.resource_type "
            "AND s.resource_id = raw_resources.resource_id)",
            (now_iso(), source_id, *resource_types, connection_id),
        )
        for resource_type in resource_types:
            # Led by the ids seen (an index lookup each), not by a pass over the source.
            self.conn.execute(
                "UPDATE raw_resources SET missing_since = NULL WHERE source_id = ? "
                "AND resource_type = ? AND missing_since IS NOT NULL AND resource_id IN "
                "(SELECT resource_id FROM sync_seen WHERE connection_id = ? AND resource_type = ?)",
                (source_id, resource_type, connection_id, resource_type),
            )
            self.clear_seen(connection_id, resource_type)
        return int(cur.rowcount)

    def clear_seen(self, connection_id: int, resource_type: str) -> None:
        self.conn.execute(
            "DELETE FROM sync_seen WHERE connection_id = ? AND resource_type = ?",
            (connection_id, resource_type),
        )
