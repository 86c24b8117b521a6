"""Restore: a new profile from a backup (the newest in a folder of backups, or the one named),
opened with the passphrase or recovery key it was made with. Never over an existing profile.

The backup's header and database are copied into a hidden folder beside the profiles and
unlocked there (which checks the header's MAC, the database's binding to it, and upgrades an
older schema); the whole database is integrity-checked; only then is the folder renamed into
place. A wrong passphrase, a damaged copy or a full disk leaves no profile behind, and the
backup itself is only read.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from phr_desktop.services.auto_backup import PROFILE_NAME_SETTING, restored_settings
from phr_desktop.services.backup_folder import FoundBackup, backups_in, is_plain_backup
from phr_desktop.services.errors import ServiceError
from phr_desktop.services.profiles import Profiles
from phr_desktop.vault.backup_copy import read_meta
from phr_desktop.vault.database import damaged, transaction
from phr_desktop.vault.errors import VaultDamaged, VaultError, VaultNotFound
from phr_desktop.vault.files import PRIVATE_FILE_MODE, make_private_dir
from phr_desktop.vault.storage_errors import storage_errors
from phr_desktop.vault.vault import DB_NAME, HEADER_NAME, Vault

DEFAULT_NAME = "Restored"


@dataclass(frozen=True)
class RestoreReport:
    profile: str
    backup: Path
    made: datetime | None  # when the backup was made (None: a plain copy, time unknown)


@dataclass(frozen=True)
class ChosenBackup:
    path: Path
    made: datetime | None
    previous: Path | None  # the one before it in the same folder, to try if it is damaged


def choose_backup(source: Path) -> ChosenBackup:
    """The backup `source` names: itself, or the newest backup in it."""
    if not source.exists():
        raise ServiceError(f"There is no backup at {source}; check the path.")
    if not source.is_dir():
        raise ServiceError(
            f"{source} is a file; give the backup's folder (it holds header.json and vault.db) "
            "or a folder of backups."
        )
    if is_plain_backup(source):
        meta = read_meta(source)
        return ChosenBackup(source, datetime.fromisoformat(meta.made) if meta else None, None)
    try:
        found: list[FoundBackup] = backups_in(source)
    except OSError as exc:
        raise ServiceError(f"{source} cannot be read ({exc.strerror}).") from None
    usable = [b for b in found if is_plain_backup(b.path)]
    if not usable:
        raise ServiceError(
            f"{source} holds no backup of phr-desktop (no folder with header.json and "
            "vault.db). Choose the folder your backups were written to, or one backup in it."
        )
    profiles = {b.meta.profile_id for b in usable}
    if len(profiles) > 1:
        raise ServiceError(
            f"{source} holds backups of {len(profiles)} different profiles; name the one to "
            "restore (one of the phr-backup-… folders in it)."
        )
    previous = usable[-2].path if len(usable) > 1 else None
    return ChosenBackup(usable[-1].path, usable[-1].made, previous)


def restore_backup(
    profiles: Profiles,
    source: Path,
    *,
    name: str | None = None,
    passphrase: str | None = None,
    recovery_key: str | None = None,
) -> RestoreReport:
    """Make a profile from the backup at `source`; returns its name. Unlocking it afterwards
    takes the same passphrase or recovery key."""
    if name is not None and profiles.exists(name):
        raise ServiceError(
            f"A profile named {name!r} already exists; a restore never replaces one. "
            "Choose another name (--as NAME)."
        )
    chosen = choose_backup(source)
    backup, made = chosen.path, chosen.made
    action, outcome = f"restore the backup {backup}", "No profile was made; the backup is intact."
    with storage_errors(action, outcome, profiles.root):
        make_private_dir(profiles.root)
        staging = Path(tempfile.mkdtemp(prefix=".restoring-", dir=profiles.root))
    try:
        with storage_errors(action, outcome, profiles.root):
            # A closed backup is one file; a profile folder copied while open may also hold
            # committed changes in its write-ahead log, which belong with it.
            wal = f"{DB_NAME}-wal"
            for file_name in (HEADER_NAME, DB_NAME, wal):
                if file_name == wal and not (backup / wal).is_file():
                    continue
                shutil.copyfile(backup / file_name, staging / file_name)
                os.chmod(staging / file_name, PRIVATE_FILE_MODE)
        try:
            vault = Vault.unlock(staging, passphrase=passphrase, recovery_key=recovery_key)
        except (VaultDamaged, VaultNotFound) as exc:
            raise _with_previous(exc, chosen) from None
        with vault:
            problems = vault.integrity_problems()
            if problems:
                raise _with_previous(damaged(backup / DB_NAME, "; ".join(problems[:3])), chosen)
            row = vault.conn.execute(
                "SELECT value FROM settings WHERE key = ?", (PROFILE_NAME_SETTING,)
            ).fetchone()
            profile = _free_name(profiles, name or (str(row[0]) if row else DEFAULT_NAME), name)
            with transaction(vault.conn):
                for key, value in restored_settings(made).items():
                    vault.conn.execute("DELETE FROM settings WHERE key = ?", (key,))
                    if value is not None:
                        vault.conn.execute(
                            "INSERT INTO settings (key, value) VALUES (?, ?)", (key, value)
                        )
                vault.conn.execute(
                    "INSERT INTO settings (key, value) VALUES (?, ?) ON CONFLICT (key) "
                    "DO UPDATE SET value = excluded.value",
                    (PROFILE_NAME_SETTING, profile),
                )
            vault.audit.append("restore")
        target = profiles.path(profile)
        with storage_errors(action, outcome, profiles.root):
            if target.exists():  # made meanwhile by another window
                raise ServiceError(f"A profile named {profile!r} already exists; choose another.")
            os.rename(staging, target)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return RestoreReport(profile, backup, made)


def _with_previous(exc: VaultError, chosen: ChosenBackup) -> VaultError:
    """A damaged newest backup (a cloud client still syncing it, say): name the one before."""
    if chosen.previous is None:
        return exc
    return type(exc)(
        f"{exc} The backup before it can be restored instead: "
        f"`phr vault restore {chosen.previous}` (or choose that folder in the app)."
    )


def _free_name(profiles: Profiles, wanted: str, explicit: str | None) -> str:
    """The name asked for, else the backup's own; refused if a profile has it already."""
    try:
        profiles.path(wanted)
    except ServiceError:
        if explicit is not None:
            raise
        wanted = DEFAULT_NAME
    if profiles.exists(wanted):
        raise ServiceError(
            f"A profile named {wanted!r} already exists; a restore never replaces one. "
            "Choose another name (--as NAME, or the name field in the app)."
        )
    return wanted
