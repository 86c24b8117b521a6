"""One backup of a profile: a folder holding its key header, a copy of its database made with
SQLite's backup API (still encrypted with the data key) and a small description, written
whole or not at all, and checked before it is called good.

<backups>/phr-backup-<UTC time>-<id>/header.json   the profile's header as it was
                                     vault.db      the database, same data key
                                     backup.json   profile id, time, device (no health data)

It is built in a hidden `.partial-…` folder beside the others and renamed into place only
after it was opened with the data key and checked (page HMACs, SQLite integrity, the binding
to the header, the audit chain): a backup stopped half-way (a crash, `kill -9`, a full disk)
never replaces or removes a good one. A leftover partial folder is removed by a later run.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson

from phr_desktop.vault.audit import AuditLog
from phr_desktop.vault.binding import check_database
from phr_desktop.vault.database import (
    Connection,
    DatabaseError,
    damaged,
    integrity_problems,
    open_database,
    open_reader,
)
from phr_desktop.vault.errors import VaultDamaged
from phr_desktop.vault.files import make_private_dir, write_atomically
from phr_desktop.vault.header import load_header

DB_NAME = "vault.db"
HEADER_NAME = "header.json"
META_NAME = "backup.json"
BACKUP_PREFIX = "phr-backup-"
PARTIAL_PREFIX = ".partial-"
META_FORMAT = "phr-desktop-backup"
MAX_META_BYTES = 16 * 1024
# A partial folder this old is a dead run's (a live one finishes in seconds to minutes).
STALE_PARTIAL_SECONDS = 3600


@dataclass(frozen=True)
class BackupMeta:
    """What `backup.json` says: enough to choose and rotate backups without any key."""

    profile_id: str
    made: str  # ISO-8601 UTC, microseconds: also the sort order
    device: str  # the installation that wrote it (see `auto_backup.device_id`)

    def to_bytes(self) -> bytes:
        return orjson.dumps(
            {
                "format": META_FORMAT,
                "profile_id": self.profile_id,
                "made": self.made,
                "device": self.device,
            },
            option=orjson.OPT_INDENT_2,
        )


def read_meta(folder: Path) -> BackupMeta | None:
    """The description of a backup folder; None for anything that is not one of ours."""
    try:
        with (folder / META_NAME).open("rb") as handle:
            raw = handle.read(MAX_META_BYTES + 1)
        body: Any = orjson.loads(raw)
        if len(raw) > MAX_META_BYTES or body.get("format") != META_FORMAT:
            return None
        return BackupMeta(str(body["profile_id"]), str(body["made"]), str(body["device"]))
    except (OSError, orjson.JSONDecodeError, AttributeError, KeyError, TypeError):
        return None


def verify_backup(folder: Path, data_key: bytes) -> None:
    """Open the copy with the data key and check all of it; VaultDamaged says what is wrong."""
    header_path = folder / HEADER_NAME
    header = load_header(header_path)
    header.verify_mac(data_key, header_path)
    db_path = folder / DB_NAME

    def is_this_headers(conn: Connection) -> None:
        check_database(conn, db_path, header, data_key)

    conn = open_database(db_path, data_key, verify=is_this_headers)
    try:
        problems = integrity_problems(conn)
        if problems:
            raise damaged(db_path, "; ".join(problems[:3]))
        chain = AuditLog(conn, data_key, header.audit).verify()
        if not chain.ok:
            raise damaged(db_path, f"its audit chain does not hold: {chain.reason}")
    except DatabaseError as exc:
        raise damaged(db_path, exc) from None
    finally:
        conn.close()


def _fsync_folder(folder: Path) -> None:
    if hasattr(os, "O_DIRECTORY"):
        fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def _fsync_file(path: Path) -> None:
    with path.open("rb+") as handle:
        os.fsync(handle.fileno())


def remove_stale_partials(root: Path, now: float | None = None) -> None:
    """Remove partial folders left by runs that died (never a live run's, nor a backup)."""
    now = time.time() if now is None else now
    with contextlib.suppress(OSError):
        for child in root.iterdir():
            if child.name.startswith(PARTIAL_PREFIX) and child.is_dir():
                with contextlib.suppress(OSError):
                    if now - child.stat().st_mtime > STALE_PARTIAL_SECONDS:
                        shutil.rmtree(child)


def write_backup(
    db_path: Path, header_bytes: bytes, data_key: bytes, root: Path, name: str, meta: BackupMeta
) -> Path:
    """Copy the database at `db_path` (through a connection of its own, so the copy holds only
    committed data) with `header_bytes` into `root/name`, verified, atomically. The header is
    read by the caller before the copy starts: its audit anchor can then never be ahead of the
    copied chain. Raises VaultError (StorageError for a full or missing disk); on any failure
    nothing new is left in `root`."""
    make_private_dir(root)
    staging = Path(tempfile.mkdtemp(prefix=PARTIAL_PREFIX, dir=root))
    try:
        source = open_reader(db_path, data_key)
        try:
            target = open_database(staging / DB_NAME, data_key, create=True)
            try:
                source.backup(target)
                target.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            finally:
                target.close()
        finally:
            source.close()
        write_atomically(staging / HEADER_NAME, header_bytes)
        write_atomically(staging / META_NAME, meta.to_bytes())
        _fsync_file(staging / DB_NAME)
        verify_backup(staging, data_key)
        for leftover in ("-wal", "-shm"):  # opening to verify may leave empty side files
            with contextlib.suppress(OSError):
                Path(str(staging / DB_NAME) + leftover).unlink()
        final = root / name
        if final.exists():
            raise VaultDamaged(f"{final} already exists; it was left as it is.")
        os.rename(staging, final)
        _fsync_folder(root)
        return final
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
