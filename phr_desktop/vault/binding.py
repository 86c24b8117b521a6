"""The database is bound to its header: both hold the same database id, with a MAC under the
data key on each side, so an empty, replaced or foreign `vault.db` is refused, not opened as a
fresh vault.

The header's side is its own MAC (`header.py`). The database's side is one row in
`vault_binding`: the profile id and database id, with an HMAC keyed from the data key. A
database that predates binding (schema 6 or older) has no such table; it is bound on upgrade.
"""

from __future__ import annotations

import hashlib
import hmac
import uuid
from pathlib import Path

from phr_desktop.vault.database import Connection, damaged
from phr_desktop.vault.header import VaultHeader
from phr_desktop.vault.keys import hkdf, same_text

TABLE = "vault_binding"


def new_database_id() -> str:
    return str(uuid.uuid4())


def _binding_mac(data_key: bytes, profile_id: str, database_id: str) -> str:
    key = hkdf(data_key, b"phr-desktop database binding v1")
    message = f"{profile_id}\x1f{database_id}".encode()
    return hmac.new(key, message, hashlib.sha256).hexdigest()


def has_binding_table(conn: Connection) -> bool:
    row = conn.execute(
        "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?", (TABLE,)
    ).fetchone()
    return row is not None


def check_database(conn: Connection, path: Path, header: VaultHeader, data_key: bytes) -> str:
    """Refuse a database that is not this header's; read-only. Returns the database id it
    holds ("" for a database from before binding, which the upgrade binds)."""
    tables = conn.execute("SELECT count(*) FROM sqlite_master").fetchone()[0]
    version = conn.execute("PRAGMA user_version").fetchone()[0]
    if tables == 0 or version == 0:
        raise damaged(path, "it holds no vault: it is empty or was replaced by a new file")
    if not has_binding_table(conn):
        # From before binding: its pages opened with this data key and it has a schema, so it
        # is this vault's (perhaps the copy kept before an upgrade, put back); the upgrade
        # binds it to the header.
        return ""
    row = conn.execute(f"SELECT profile_id, database_id, mac FROM {TABLE} WHERE id = 1").fetchone()
    if row is None:
        raise damaged(path, "its link to the key header is missing")
    profile_id, database_id, mac = (str(value) for value in row)
    expected = _binding_mac(data_key, header.profile_id, database_id)
    if profile_id != header.profile_id or not same_text(mac, expected):
        raise damaged(path, "it belongs to another profile")
    if header.database_id and database_id != header.database_id:
        raise damaged(path, "it is another database than the one this key header names")
    return database_id


def bind(conn: Connection, header: VaultHeader, data_key: bytes, database_id: str) -> None:
    """Write the database's half of the binding (inside the caller's transaction)."""
    conn.execute(
        f"INSERT INTO {TABLE} (id, profile_id, database_id, mac) VALUES (1, ?, ?, ?)",
        (header.profile_id, database_id, _binding_mac(data_key, header.profile_id, database_id)),
    )
