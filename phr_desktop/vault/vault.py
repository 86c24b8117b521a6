"""One person's vault: a profile folder holding the key header and the SQLCipher database.

<profile>/header.json          KDF parameters + the wrapped data key (no health data)
<profile>/vault.db (-wal,-shm) SQLCipher 4, raw data key
<profile>/vault.lock           held while the vault is open: one writer at a time
<profile>/unlock-attempts.json wrong-passphrase counter (no health data)
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

from filelock import FileLock, Timeout
from keyring.backend import KeyringBackend

from phr_desktop.vault import keyring_store
from phr_desktop.vault.audit import AuditLog
from phr_desktop.vault.database import Connection, integrity_problems, open_database
from phr_desktop.vault.errors import (
    TooManyAttempts,
    VaultBusy,
    VaultError,
    VaultNotFound,
    WrongPassphrase,
    WrongRecoveryKey,
)
from phr_desktop.vault.files import make_private_dir
from phr_desktop.vault.header import VaultHeader, Wrap, load_header, new_salt
from phr_desktop.vault.keys import (
    KdfParams,
    calibrate_kdf,
    derive_passphrase_key,
    format_recovery_key,
    new_data_key,
    new_recovery_secret,
    parse_recovery_key,
    recovery_kek,
    unwrap_key,
    wrap_key,
)
from phr_desktop.vault.migrations import migrate
from phr_desktop.vault.throttle import UnlockThrottle

DB_NAME = "vault.db"
HEADER_NAME = "header.json"
LOCK_NAME = "vault.lock"
ATTEMPTS_NAME = "unlock-attempts.json"


def _take_lock(profile_dir: Path) -> FileLock:
    lock = FileLock(profile_dir / LOCK_NAME, timeout=0)
    try:
        lock.acquire()
    except Timeout:
        raise VaultBusy(
            f"This profile is already open in another window or `phr` command "
            f"({profile_dir.name}). Close it there first."
        ) from None
    return lock


class Vault:
    """An unlocked vault. Use as a context manager, or call `close()`."""

    def __init__(
        self,
        profile_dir: Path,
        header: VaultHeader,
        data_key: bytes,
        conn: Connection,
        lock: FileLock,
    ) -> None:
        self.profile_dir = profile_dir
        self.header = header
        self.conn = conn
        self._data_key = data_key
        self._lock = lock
        self.audit = AuditLog(conn, data_key)

    # --- creating and unlocking -----------------------------------------------------------

    @classmethod
    def create(
        cls, profile_dir: Path, passphrase: str, kdf: KdfParams | None = None
    ) -> tuple[Vault, str]:
        """Make a new vault; returns it unlocked and the recovery key to show the user once."""
        if (profile_dir / HEADER_NAME).exists() or (profile_dir / DB_NAME).exists():
            raise VaultError(f"A vault already exists in {profile_dir}.")
        if not passphrase:
            raise VaultError("Choose a passphrase; an empty one would not protect anything.")
        make_private_dir(profile_dir)
        kdf = kdf or calibrate_kdf()
        data_key = new_data_key()
        recovery_secret = new_recovery_secret()
        profile_id, created = VaultHeader.new_identity()
        empty = Wrap(b"", b"")
        header = VaultHeader(profile_id, created, kdf, new_salt(), empty, empty)
        header = replace(
            header,
            passphrase_wrap=Wrap(
                *wrap_key(
                    derive_passphrase_key(passphrase, kdf),
                    data_key,
                    header.passphrase_aad(),
                )
            ),
            recovery_wrap=Wrap(
                *wrap_key(
                    recovery_kek(recovery_secret, header.recovery_salt),
                    data_key,
                    header.recovery_aad(),
                )
            ),
        ).sealed(data_key)
        lock = _take_lock(profile_dir)
        try:
            conn = open_database(profile_dir / DB_NAME, data_key, create=True)
            header.save(profile_dir / HEADER_NAME)
        except BaseException:
            lock.release()
            raise
        vault = cls._finish_open(profile_dir, header, data_key, conn, lock)
        vault.audit.append("create")
        return vault, format_recovery_key(recovery_secret)

    @classmethod
    def unlock(
        cls,
        profile_dir: Path,
        *,
        passphrase: str | None = None,
        recovery_key: str | None = None,
        data_key: bytes | None = None,
        clock: Callable[[], float] | None = None,
    ) -> Vault:
        """Unlock with exactly one of: passphrase, recovery key, or a remembered data key."""
        if not profile_dir.is_dir():
            raise VaultNotFound(f"There is no profile folder at {profile_dir}.")
        header_path = profile_dir / HEADER_NAME
        header = load_header(header_path)
        method = "data_key"
        if passphrase is not None:
            method = "passphrase"
            data_key = cls._unwrap_with_passphrase(profile_dir, header, passphrase, clock)
        elif recovery_key is not None:
            method = "recovery_key"
            secret = parse_recovery_key(recovery_key)
            data_key = unwrap_key(
                recovery_kek(secret, header.recovery_salt),
                header.recovery_wrap.nonce,
                header.recovery_wrap.ciphertext,
                header.recovery_aad(),
            )
            if data_key is None:
                raise WrongRecoveryKey(
                    "That recovery key is well-formed but belongs to another profile or an "
                    "older copy of this one. Check you picked the right profile."
                )
        if data_key is None:
            raise VaultError("Give a passphrase or a recovery key to unlock the profile.")
        header.verify_mac(data_key, header_path)
        lock = _take_lock(profile_dir)
        try:
            conn = open_database(profile_dir / DB_NAME, data_key)
        except BaseException:
            lock.release()
            raise
        vault = cls._finish_open(profile_dir, header, data_key, conn, lock)
        vault.audit.append("unlock", method=method)
        return vault

    @staticmethod
    def _unwrap_with_passphrase(
        profile_dir: Path,
        header: VaultHeader,
        passphrase: str,
        clock: Callable[[], float] | None,
    ) -> bytes:
        throttle = UnlockThrottle(
            profile_dir / ATTEMPTS_NAME, **({"clock": clock} if clock else {})
        )
        wait = throttle.seconds_to_wait()
        if wait > 0:
            raise TooManyAttempts(wait)
        kek = derive_passphrase_key(passphrase, header.kdf)
        data_key = unwrap_key(
            kek,
            header.passphrase_wrap.nonce,
            header.passphrase_wrap.ciphertext,
            header.passphrase_aad(),
        )
        if data_key is None:
            raise WrongPassphrase(throttle.record_failure())
        throttle.reset()
        return data_key

    @classmethod
    def _finish_open(
        cls,
        profile_dir: Path,
        header: VaultHeader,
        data_key: bytes,
        conn: Connection,
        lock: FileLock,
    ) -> Vault:
        vault = cls(profile_dir, header, data_key, conn, lock)
        try:
            migrate(conn, profile_dir / DB_NAME, backup=vault.backup)
            conn.execute("UPDATE import_jobs SET status = 'interrupted' WHERE status = 'running'")
        except BaseException:
            vault.close()
            raise
        return vault

    # --- keys -----------------------------------------------------------------------------

    def change_passphrase(self, new_passphrase: str, kdf: KdfParams | None = None) -> None:
        """Re-wrap the data key under a new passphrase; the database is not re-encrypted."""
        if not new_passphrase:
            raise VaultError("Choose a passphrase; an empty one would not protect anything.")
        kdf = kdf or calibrate_kdf()
        header = replace(self.header, kdf=kdf)
        header = replace(
            header,
            passphrase_wrap=Wrap(
                *wrap_key(
                    derive_passphrase_key(new_passphrase, kdf),
                    self._data_key,
                    header.passphrase_aad(),
                )
            ),
        ).sealed(self._data_key)
        header.save(self.profile_dir / HEADER_NAME)
        self.header = header
        self.audit.append("change_passphrase")

    def remember_on_device(
        self,
        backend: KeyringBackend | None = None,
        allowed_modules: frozenset[str] = keyring_store.SECURE_BACKEND_MODULES,
    ) -> None:
        keyring_store.remember_data_key(
            self.header.profile_id, self._data_key, backend, allowed_modules
        )
        self.audit.append("remember_on_device")

    def forget_on_device(self) -> None:
        keyring_store.forget_data_key(self.header.profile_id)
        self.audit.append("forget_on_device")

    @property
    def data_key(self) -> bytes:
        """For services that derive their own keys (sharing, audit); never log or store it."""
        return self._data_key

    # --- maintenance ----------------------------------------------------------------------

    def backup(self, destination: Path) -> None:
        """A consistent encrypted copy with the same key, made with SQLite's backup API."""
        if destination.exists():
            raise VaultError(f"{destination} already exists; choose a new file name.")
        target = open_database(destination, self._data_key, create=True)
        try:
            self.conn.backup(target)
        finally:
            target.close()

    def integrity_problems(self) -> list[str]:
        return integrity_problems(self.conn)

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        self.conn.close()
        self._lock.release()

    def __enter__(self) -> Vault:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
