"""Schema migrations, one module per `user_version`, applied in order inside a transaction.

Before migrating an existing vault a backup is written beside it with the backup API.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import sqlcipher3

from phr_desktop.vault.database import Connection, DatabaseError, transaction
from phr_desktop.vault.errors import VaultError
from phr_desktop.vault.migrations import (
    m0001_initial,
    m0002_connections,
    m0003_device_keys,
    m0004_tag_index,
    m0005_sharing,
    m0006_raw_index,
    m0007_vault_binding,
    m0008_search_about,
    m0009_person_and_facts,
    m0010_sync_schedule,
    m0011_sensitivity,
    m0012_timeline_counts,
    m0013_summary_indexes,
    m0014_bucket_index,
    m0015_shown_by_fact,
    m0016_counts_on_insert,
)

MIGRATIONS: list[str] = [
    m0001_initial.SQL,
    m0002_connections.SQL,
    m0003_device_keys.SQL,
    m0004_tag_index.SQL,
    m0005_sharing.SQL,
    m0006_raw_index.SQL,
    m0007_vault_binding.SQL,
    m0008_search_about.SQL,
    m0009_person_and_facts.SQL,
    m0010_sync_schedule.SQL,
    m0011_sensitivity.SQL,
    m0012_timeline_counts.SQL,
    m0013_summary_indexes.SQL,
    m0014_bucket_index.SQL,
    m0015_shown_by_fact.SQL,
    m0016_counts_on_insert.SQL,
]
LATEST_VERSION = len(MIGRATIONS)
# Versions that rebuild a table other tables point at: SQLite's way (create, copy, drop,
# rename) needs foreign keys off, which only takes effect outside a transaction.
REBUILDS_REFERENCED_TABLES = frozenset({6})


def schema_version(conn: Connection) -> int:
    return int(conn.execute("PRAGMA user_version").fetchone()[0])


def migrate(conn: Connection, db_path: Path, backup: Callable[[Path], None] | None = None) -> int:
    """Bring the schema to LATEST_VERSION; returns the version found before."""
    found = schema_version(conn)
    if found > LATEST_VERSION:
        raise VaultError(
            f"This profile was saved by a newer phr-desktop (schema {found}); this version "
            f"understands up to {LATEST_VERSION}. Update phr-desktop to open it."
        )
    if found == LATEST_VERSION:
        return found
    if found > 0 and backup is not None:
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
        name = f"{db_path.stem}.before-v{LATEST_VERSION}-{stamp}"
        target = db_path.with_name(f"{name}.db")
        for n in range(2, 1000):  # a copy put back and upgraded again within the second
            if not target.exists():
                break
            target = db_path.with_name(f"{name}-{n}.db")
        backup(target)
    for version in range(found + 1, LATEST_VERSION + 1):
        rebuild = version in REBUILDS_REFERENCED_TABLES
        if rebuild:
            conn.execute("PRAGMA foreign_keys = OFF")
        try:
            with transaction(conn):
                for statement in _statements(MIGRATIONS[version - 1]):
                    conn.execute(statement)
                if rebuild and conn.execute("PRAGMA foreign_key_check").fetchone():
                    raise DatabaseError("a rebuilt table lost rows that others point at")
                conn.execute(f"PRAGMA user_version = {version}")
        except DatabaseError as exc:
            raise VaultError(
                f"Upgrading this profile's storage to schema {version} failed ({exc}); it was "
                "rolled back, so the profile is as it was. Please report this problem."
            ) from exc
        finally:
            if rebuild:
                conn.execute("PRAGMA foreign_keys = ON")
    return found


def _statements(script: str) -> list[str]:
    """Split a migration script into statements (executescript would commit on its own)."""
    statements: list[str] = []
    buffer = ""
    for line in script.splitlines(keepends=True):
        buffer += line
        if sqlcipher3.complete_statement(buffer):
            if buffer.strip():
                statements.append(buffer.strip())
            buffer = ""
    if buffer.strip():
        statements.append(buffer.strip())
    return statements
