"""A folder of backups: which backups it holds, of which profile, made where and when.

Read without any key from each backup's `backup.json`, so rotation, the choice of the newest
backup and the check for backups written by another computer cost no unlocking.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from phr_desktop.vault.backup_copy import BACKUP_PREFIX, DB_NAME, HEADER_NAME, BackupMeta, read_meta


@dataclass(frozen=True)
class FoundBackup:
    path: Path
    meta: BackupMeta

    @property
    def made(self) -> datetime:
        return datetime.fromisoformat(self.meta.made)


def is_plain_backup(folder: Path) -> bool:
    """A folder holding a header and a database: one backup (ours, `phr vault backup`'s, or a
    copy of a profile folder)."""
    return (folder / HEADER_NAME).is_file() and (folder / DB_NAME).is_file()


def backups_in(folder: Path, profile_id: str | None = None) -> list[FoundBackup]:
    """The backups in `folder` (of one profile if given), oldest first. A folder that cannot
    be listed raises OSError: the caller says what that means where it is."""
    found: list[FoundBackup] = []
    for child in folder.iterdir():
        if not child.name.startswith(BACKUP_PREFIX) or not child.is_dir():
            continue
        meta = read_meta(child)
        if meta is None or (profile_id is not None and meta.profile_id != profile_id):
            continue
        try:
            datetime.fromisoformat(meta.made)
        except ValueError:
            continue
        found.append(FoundBackup(child, meta))
    return sorted(found, key=lambda b: (b.made, b.path.name))


def newer_from_elsewhere(
    backups: list[FoundBackup], device: str, since: datetime | None
) -> list[FoundBackup]:
    """Backups another computer made of this profile after our newest known state: a sign
    that the profile is being changed in two places."""
    return [b for b in backups if b.meta.device != device and (since is None or b.made > since)]


def to_rotate(
    backups: list[FoundBackup], keep: int, protected: list[FoundBackup]
) -> list[FoundBackup]:
    """All but the newest `keep`; never one in `protected` (another computer's newer work)."""
    keep_paths = {b.path for b in backups[-keep:]} | {b.path for b in protected}
    return [b for b in backups if b.path not in keep_paths]
