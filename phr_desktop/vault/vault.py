"""One person's vault: a profile folder holding the key header and the SQLCipher database.

<profile>/header.json          KDF parameters + the wrapped data key (no health data), the
                               database id and the audit-chain anchor, under a MAC
<profile>/vault.db (-wal,-shm) SQLCipher 4, raw data key; bound to the header (`binding.py`)
<profile>/vault.lock           held while the vault is open: one writer at a time
<profile>/unlock-attempts.json wrong-passphrase counter (no health data)
"""

from __future__ import annotations

import contextlib
import hmac
import logging
import os
import shutil
import tempfile
import threading
from collections.abc import Callable, Iterator
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

from filelock import FileLock, Timeout

from phr_desktop.vault import keyring_store
from phr_desktop.vault.audit import AuditLog
from phr_desktop.vault.binding import bind, check_database, has_binding_table, new_database_id
from phr_desktop.vault.creation import build_vault, new_header
from phr_desktop.vault.database import (
    Connection,
    DatabaseError,
    damaged,
    integrity_problems,
    open_database,
    transaction,
)
from phr_desktop.vault.errors import (
    StorageError,
    VaultBusy,
    VaultError,
    VaultNotFound,
    WrongPassphrase,
    WrongRecoveryKey,
)
from phr_desktop.vault.files import make_private_dir
from phr_desktop.vault.header import VaultHeader, Wrap, load_header
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
from phr_desktop.vault.passphrase_unlock import unwrap_with_passphrase
from phr_desktop.vault.storage_errors import storage_error, storage_errors
from phr_desktop.vault.throttle import UnlockThrottle

if TYPE_CHECKING:  # keyring (with its backends and importlib metadata) loads on use
    from keyring.backend import KeyringBackend

log = logging.getLogger(__name__)

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
    except OSError as exc:
        raise storage_error(exc, f"open the profile in {profile_dir}") from None
    return lock


@contextlib.contextmanager
def _damage_or_storage_errors(profile_dir: Path) -> Iterator[None]:
    """While opening: a disk problem is a StorageError, any other database error (a damaged
    page found past the first ones) is VaultDamaged naming the file."""
    try:
        with storage_errors(f"open the profile in {profile_dir}", where=profile_dir):
            yield
    except DatabaseError as exc:
        raise damaged(profile_dir / DB_NAME, exc) from None


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
        self._header_lock = threading.Lock()  # header writes come from any thread that audits
        self._closed = False
        self.audit = AuditLog(conn, data_key, header.audit, on_committed=self._anchor_quietly)

    # --- creating and unlocking -----------------------------------------------------------

    @classmethod
    def create(
        cls, profile_dir: Path, passphrase: str, kdf: KdfParams | None = None
    ) -> tuple[Vault, str]:
        """Make a new vault; returns it unlocked and the recovery key to show the user once.

        It is built in a hidden folder beside `profile_dir` and renamed into place when whole,
        so a failure (a full disk) or a crash leaves no half-made profile behind."""
        if (profile_dir / HEADER_NAME).exists() or (profile_dir / DB_NAME).exists():
            raise VaultError(f"A vault already exists in {profile_dir}.")
        if profile_dir.exists() and (not profile_dir.is_dir() or any(profile_dir.iterdir())):
            raise VaultError(f"{profile_dir} is in use by other files; choose another name.")
        if not passphrase:
            raise VaultError("Choose a passphrase; an empty one would not protect anything.")
        kdf = kdf or calibrate_kdf()
        data_key = new_data_key()
        recovery_secret = new_recovery_secret()
        header = new_header(kdf, passphrase, data_key, recovery_secret)
        action, outcome = f"create the profile in {profile_dir}", "Nothing was left behind."
        with storage_errors(action, outcome, profile_dir.parent):
            make_private_dir(profile_dir.parent)
            staging = Path(
                tempfile.mkdtemp(prefix=f".{profile_dir.name}.creating-", dir=profile_dir.parent)
            )
        try:
            with storage_errors(action, outcome, profile_dir.parent):
                header = build_vault(staging / DB_NAME, staging / HEADER_NAME, header, data_key)
                if profile_dir.exists():
                    profile_dir.rmdir()  # empty (checked above); rename will not replace it
                os.rename(staging, profile_dir)
        except BaseException:
            shutil.rmtree(staging, ignore_errors=True)
            raise
        return cls._open(profile_dir, header, data_key), format_recovery_key(recovery_secret)

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
        throttle = UnlockThrottle(
            profile_dir / ATTEMPTS_NAME, **({"clock": clock} if clock else {})
        )
        method = "data_key"
        if passphrase is not None:
            method = "passphrase"
            data_key = unwrap_with_passphrase(header_path, header, passphrase, throttle)
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
        with contextlib.suppress(OSError):  # a full disk must not stop a right passphrase
            throttle.record_authentic_header(
                header.passphrase_fingerprint(), passphrase_was_right=method == "passphrase"
            )
        vault = cls._open(profile_dir, header, data_key)
        try:
            with _damage_or_storage_errors(profile_dir):
                vault.audit.append("unlock", method=method)
        except BaseException:
            vault._release()
            raise
        return vault

    @classmethod
    def _open(cls, profile_dir: Path, header: VaultHeader, data_key: bytes) -> Vault:
        """Lock, check the database is this header's (writing nothing to one that is not),
        upgrade its schema and bind it if it predates binding."""
        lock = _take_lock(profile_dir)
        db_path = profile_dir / DB_NAME
        found_id = ""

        def verify(conn: Connection) -> None:
            nonlocal found_id
            found_id = check_database(conn, db_path, header, data_key)

        try:
            conn = open_database(db_path, data_key, verify=verify)
        except BaseException:
            lock.release()
            raise
        vault = cls(profile_dir, header, data_key, conn, lock)
        try:
            with _damage_or_storage_errors(profile_dir):
                migrate(conn, db_path, backup=vault.backup)
                vault._ensure_bound(found_id)
                conn.execute(
                    "UPDATE import_jobs SET status = 'interrupted' WHERE status = 'running'"
                )
        except BaseException:
            vault._release()
            raise
        return vault

    def _ensure_bound(self, found_id: str) -> None:
        """Bind a database from before binding, and name it in a header from before it."""
        database_id = found_id
        if not has_binding_table(self.conn):
            return  # a schema from before binding (tests that stop upgrades early)
        if not database_id:
            database_id = self.header.database_id or new_database_id()
            with transaction(self.conn):
                bind(self.conn, self.header, self._data_key, database_id)
        if self.header.database_id != database_id:
            self._save_header(
                replace(self.header, database_id=database_id, audit=self.audit.head())
            )

    def _save_header(self, header: VaultHeader) -> None:
        """Seal and write the header, then use it (one writer at a time)."""
        with self._header_lock:
            sealed = header.sealed(self._data_key)
            sealed.save(self.profile_dir / HEADER_NAME)
            self.header = sealed
            self.audit.anchor = sealed.audit

    def anchor_audit(self) -> None:
        """Record the audit chain's length and head in the header. A chain that no longer
        holds the anchored row keeps the old anchor, so `verify` goes on reporting it."""
        if not self.audit.continues_anchor():
            return
        head = self.audit.head()
        if head != self.header.audit:
            self._save_header(replace(self.header, audit=head))

    def _anchor_quietly(self) -> None:
        # The row is committed; a header that cannot be written now lags behind, which the
        # check accepts (it only refuses a chain shorter than its anchor).
        try:
            self.anchor_audit()
        except (OSError, DatabaseError) as exc:
            log.warning("the audit anchor was not updated: %s", exc)

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
        )
        with storage_errors(
            "change the passphrase", "The old passphrase still unlocks it.", self.profile_dir
        ):
            self._save_header(header)
        with contextlib.suppress(OSError):  # this device now knows the new header as authentic
            UnlockThrottle(self.profile_dir / ATTEMPTS_NAME).record_authentic_header(
                self.header.passphrase_fingerprint(), passphrase_was_right=True
            )
        with storage_errors(
            "record the passphrase change", "The new passphrase is in use.", self.profile_dir
        ):
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

    def confirm_passphrase(self, passphrase: str) -> None:
        """Check the passphrase again (before showing restricted records): WrongPassphrase or
        TooManyAttempts when it is not this profile's, counted like a wrong unlock."""
        header_path = self.profile_dir / HEADER_NAME
        throttle = UnlockThrottle(self.profile_dir / ATTEMPTS_NAME)
        unwrapped = unwrap_with_passphrase(header_path, self.header, passphrase, throttle)
        if not hmac.compare_digest(unwrapped, self._data_key):
            raise WrongPassphrase()

    @property
    def data_key(self) -> bytes:
        """For services that derive their own keys (sharing, audit); never log or store it."""
        return self._data_key

    # --- maintenance ----------------------------------------------------------------------

    def backup(self, destination: Path) -> None:
        """A consistent encrypted copy with the same key, made with SQLite's backup API. A copy
        that cannot be finished (a full disk) is removed, not left half written."""
        if destination.exists():
            raise VaultError(f"{destination} already exists; choose a new file name.")
        outcome = "The profile itself was not changed; no partial copy was left."
        try:
            with storage_errors(f"write the backup {destination}", outcome, destination):
                target = open_database(destination, self._data_key, create=True)
                try:
                    self.conn.backup(target)
                finally:
                    target.close()
        except BaseException:
            for suffix in ("", "-wal", "-shm", "-journal"):
                with contextlib.suppress(OSError):
                    Path(str(destination) + suffix).unlink()
            raise

    @property
    def closed(self) -> bool:
        return self._closed

    def integrity_problems(self) -> list[str]:
        return integrity_problems(self.conn)

    def close(self) -> None:
        """Anchor the audit rows written in this session in the header, then close."""
        if self._closed:
            return
        with contextlib.suppress(StorageError, DatabaseError):
            self._anchor_quietly()
        with contextlib.suppress(Exception):
            self.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        self._release()

    def _release(self) -> None:
        """Close without writing anything (a vault that failed its checks, or is closing)."""
        if self._closed:
            return
        self._closed = True
        self.conn.close()
        self._lock.release()

    def __enter__(self) -> Vault:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
