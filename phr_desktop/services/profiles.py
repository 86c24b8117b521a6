"""Profiles: one vault per person under the data folder; create, list, unlock, delete."""

from __future__ import annotations

import os
import shutil
from datetime import UTC, datetime
from pathlib import Path

from filelock import FileLock, Timeout
from platformdirs import user_data_dir

from phr_desktop.services.errors import ServiceError
from phr_desktop.services.profile_names import check_name, folder_name, read_name, write_name
from phr_desktop.services.session import Session
from phr_desktop.vault.errors import VaultNotFound
from phr_desktop.vault.files import make_private_dir
from phr_desktop.vault.header import load_header
from phr_desktop.vault.keyring_store import recall_data_key
from phr_desktop.vault.keys import KdfParams
from phr_desktop.vault.storage_errors import storage_errors
from phr_desktop.vault.vault import DB_NAME, HEADER_NAME, LOCK_NAME, Vault

APP_NAME = "phr-desktop"


def default_data_dir() -> Path:
    """`PHR_DATA_DIR` if set, else the per-user data folder of this OS."""
    env = os.environ.get("PHR_DATA_DIR")
    return Path(env) if env else Path(user_data_dir(APP_NAME, appauthor=False))


def _is_profile(folder: Path) -> bool:
    return folder.is_dir() and any((folder / name).exists() for name in (HEADER_NAME, DB_NAME))


class Profiles:
    def __init__(self, data_dir: Path | None = None) -> None:
        self.data_dir = data_dir or default_data_dir()
        self.root = self.data_dir / "profiles"

    def names(self) -> list[str]:
        """Every profile folder, also one whose header or database is missing (unlocking it
        then says which file to restore); hidden folders (a profile being created) are not."""
        if not self.root.is_dir():
            return []
        return sorted(
            read_name(p)
            for p in self.root.iterdir()
            if not p.name.startswith(".") and _is_profile(p)
        )

    def path(self, name: str) -> Path:
        """The profile's folder: any name a person types ("Zoë 山田") maps to a safe one."""
        return self.root / folder_name(name)

    def exists(self, name: str) -> bool:
        return _is_profile(self.path(name))

    def create(
        self, name: str, passphrase: str, kdf: KdfParams | None = None
    ) -> tuple[Session, str]:
        """A new profile, unlocked, and its recovery key (show it once; it is not stored)."""
        name = check_name(name)
        path = self.path(name)
        if self.exists(name):
            raise ServiceError(f"A profile named {name!r} already exists.")
        where = (
            f"Nothing was left behind. Profiles are kept in {self.root} (another folder: "
            "--data-dir DIR or PHR_DATA_DIR)."
        )
        with storage_errors(f"create the profile {name!r}", where, self.root):
            make_private_dir(self.root)
        vault, recovery_key = Vault.create(path, passphrase, kdf)
        try:
            with storage_errors(f"create the profile {name!r}", where, self.root):
                write_name(path, name)
        except BaseException:
            vault.close()
            raise
        return Session(name, vault), recovery_key

    def unlock(
        self,
        name: str,
        *,
        passphrase: str | None = None,
        recovery_key: str | None = None,
        use_keyring: bool = False,
    ) -> Session:
        name = check_name(name)
        path = self.path(name)
        if not self.exists(name):
            known = ", ".join(self.names()) or "none yet"
            raise VaultNotFound(f"There is no profile named {name!r} (profiles: {known}).")
        if use_keyring and passphrase is None and recovery_key is None:
            header = load_header(path / HEADER_NAME)
            data_key = recall_data_key(header.profile_id)
            if data_key is None:
                raise ServiceError(
                    "This profile is not remembered on this device; unlock it with the passphrase."
                )
            return Session(name, Vault.unlock(path, data_key=data_key))
        return Session(name, Vault.unlock(path, passphrase=passphrase, recovery_key=recovery_key))

    def delete(self, name: str) -> Path:
        """Move the profile to the trash folder (undo: move it back); returns where it went."""
        path = self.path(name)
        if not path.is_dir():
            raise VaultNotFound(f"There is no profile named {name!r}.")
        trash = self.data_dir / "trash"
        make_private_dir(trash)
        target = trash / f"{path.name}-{datetime.now(UTC).strftime('%Y%m%dT%H%M%SZ')}"
        try:  # refuse while a window has it open (Windows cannot move an open lock file)
            with FileLock(path / LOCK_NAME, timeout=0):
                pass
        except Timeout:
            raise ServiceError(
                f"Profile {name!r} is open in another window; close it before deleting."
            ) from None
        shutil.move(str(path), str(target))
        return target
