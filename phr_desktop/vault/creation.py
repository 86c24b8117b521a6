"""The parts of a new vault: its header (both wraps of a new data key) and its database, built
whole before the profile folder is put in place (`Vault.create`)."""

from __future__ import annotations

import contextlib
from dataclasses import replace
from pathlib import Path

from phr_desktop.vault.audit import AuditLog
from phr_desktop.vault.binding import bind, has_binding_table, new_database_id
from phr_desktop.vault.database import DatabaseError, open_database, transaction
from phr_desktop.vault.header import VaultHeader, Wrap, new_salt
from phr_desktop.vault.keys import (
    KdfParams,
    derive_passphrase_key,
    recovery_kek,
    wrap_key,
)
from phr_desktop.vault.migrations import migrate


def new_header(
    kdf: KdfParams, passphrase: str, data_key: bytes, recovery_secret: bytes
) -> VaultHeader:
    """A header for a new profile: a new identity and database id, the data key wrapped under
    the passphrase and under the recovery secret. Not yet sealed."""
    profile_id, created = VaultHeader.new_identity()
    empty = Wrap(b"", b"")
    header = VaultHeader(
        profile_id, created, kdf, new_salt(), empty, empty, database_id=new_database_id()
    )
    return replace(
        header,
        passphrase_wrap=Wrap(
            *wrap_key(derive_passphrase_key(passphrase, kdf), data_key, header.passphrase_aad())
        ),
        recovery_wrap=Wrap(
            *wrap_key(
                recovery_kek(recovery_secret, header.recovery_salt),
                data_key,
                header.recovery_aad(),
            )
        ),
    )


def build_vault(
    db_path: Path, header_path: Path, header: VaultHeader, data_key: bytes
) -> VaultHeader:
    """Write the database (schema, binding, the first audit row) and then the header that
    names it and anchors its audit chain; returns that header. Closes what it opened."""
    conn = open_database(db_path, data_key, create=True)
    try:
        migrate(conn, db_path)  # a new database: no backup
        audit = AuditLog(conn, data_key)
        with transaction(conn):
            if has_binding_table(conn):  # absent only when tests build an older schema
                bind(conn, header, data_key, header.database_id)
            audit.append("create")
        header = replace(header, audit=audit.head()).sealed(data_key)
        header.save(header_path)
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    finally:
        with contextlib.suppress(DatabaseError):
            conn.close()
    return header
