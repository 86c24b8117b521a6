"""Automatic backups of an unlocked profile: where to (chosen once), when (after a change, at
most once per `MIN_INTERVAL`), how many kept, and what the patient is told.

The work is split so the app can do the slow part in the background: `plan()` reads what is
needed on the session's thread, `execute(plan)` writes, verifies and rotates on any thread (it
never touches the session's connection), and `record(outcome)` notes the result in the vault
on the session's thread. `run_now()` does the three in a row (the CLI, "Back up now").

A change is anything written to the vault since the last backup (SQLite's `total_changes` on
the session's connection); the rows the backup itself writes are not counted. A change that
could not be backed up yet when the profile is closed is remembered in the vault (`pending`),
so the next session backs it up.

The settings live in the vault's `settings` table (encrypted, and they travel with a restore):
the folder, how many to keep, and the last good backup. A failure is kept there too until the
next success, so it stays visible. Which computer wrote a backup is a random id kept beside
the vault (`device-id`, never copied into a backup), so a backup of this profile made on
another computer after our newest is named in a warning, and never rotated away.
"""

from __future__ import annotations

import contextlib
import logging
import shutil
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

import orjson

from phr_desktop.services.backup_folder import (
    FoundBackup,
    backups_in,
    newer_from_elsewhere,
    to_rotate,
)
from phr_desktop.services.backup_status import TWO_COMPUTERS, BackupStatus, LastBackup
from phr_desktop.services.errors import ServiceError
from phr_desktop.vault.backup_copy import BACKUP_PREFIX, BackupMeta, remove_stale_partials
from phr_desktop.vault.backup_copy import write_backup as write_backup_folder
from phr_desktop.vault.database import DatabaseError, transaction
from phr_desktop.vault.errors import VaultError
from phr_desktop.vault.files import write_atomically
from phr_desktop.vault.storage_errors import storage_error
from phr_desktop.vault.vault import DB_NAME, HEADER_NAME

if TYPE_CHECKING:
    from phr_desktop.services.session import Session

log = logging.getLogger(__name__)

DEFAULT_KEEP = 10
MIN_INTERVAL = timedelta(minutes=5)
DEVICE_ID_NAME = "device-id"

_FOLDER, _KEEP, _LAST_GOOD = "backup.folder", "backup.keep", "backup.last_good"
_FAILURE, _PENDING, _KNOWN_SINCE = "backup.last_failure", "backup.pending", "backup.known_since"
# Another computer's newer backup, as last named: kept until the patient chooses the folder
# again (or turns backups off), so a later backup of ours does not silently hide it.
_ELSEWHERE = "backup.elsewhere"
PROFILE_NAME_SETTING = "profile.name"


def device_id(profile_dir: Path) -> str:
    """This installation's id for the profile, made once; not copied by backups."""
    path = profile_dir / DEVICE_ID_NAME
    with contextlib.suppress(OSError, UnicodeDecodeError):
        text = path.read_text(encoding="ascii").strip()
        if text:
            return text
    value = uuid.uuid4().hex
    with contextlib.suppress(OSError):  # without it each session looks like a new computer
        write_atomically(path, value.encode("ascii"))
    return value


@dataclass(frozen=True)
class BackupPlan:
    folder: Path
    keep: int
    known_since: datetime | None
    changes_at_start: int


@dataclass(frozen=True)
class BackupOutcome:
    plan: BackupPlan
    path: Path | None = None
    made: datetime | None = None
    error: str | None = None
    elsewhere: str | None = None

    @property
    def ok(self) -> bool:
        return self.path is not None


class AutoBackup:
    """The backup policy of one session. Build it when the session opens (it counts changes
    from then on)."""

    def __init__(
        self,
        session: Session,
        *,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        min_interval: timedelta | None = None,
    ) -> None:
        self._session = session
        self._vault = session.vault
        self._conn = session.vault.conn
        self.clock = clock
        self.min_interval = MIN_INTERVAL if min_interval is None else min_interval
        self._device = device_id(self._vault.profile_dir)
        self._backed_up_changes = self._conn.total_changes
        self._last_attempt: datetime | None = None

    # --- settings -----------------------------------------------------------------------------

    def _get(self, key: str) -> str | None:
        row = self._conn.execute("SELECT value FROM settings WHERE key = ?", (key,)).fetchone()
        return None if row is None else str(row[0])

    def _set(self, values: dict[str, str | None]) -> None:
        with transaction(self._conn):
            for key, value in values.items():
                if value is None:
                    self._conn.execute("DELETE FROM settings WHERE key = ?", (key,))
                else:
                    self._conn.execute(
                        "INSERT INTO settings (key, value) VALUES (?, ?) "
                        "ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                        (key, value),
                    )

    def _quietly_set(self, values: dict[str, str | None]) -> None:
        """Writes that are not part of the patient's data: they never count as a change."""
        before = self._conn.total_changes
        self._set(values)
        self._backed_up_changes += self._conn.total_changes - before

    @property
    def folder(self) -> Path | None:
        value = self._get(_FOLDER)
        return Path(value) if value else None

    @property
    def keep(self) -> int:
        value = self._get(_KEEP)
        return int(value) if value and value.isdigit() else DEFAULT_KEEP

    def turn_on(self, folder: Path, keep: int = DEFAULT_KEEP) -> None:
        """Back up to `folder` from now on (made if missing; it must be writable)."""
        if keep < 1:
            raise ServiceError("Keep at least one backup (--keep 1 or more).")
        folder = folder.expanduser().absolute()
        if folder.exists() and not folder.is_dir():
            raise ServiceError(f"{folder} is a file; choose a folder for the backups.")
        if folder.is_dir() and (folder / HEADER_NAME).exists():
            raise ServiceError(
                f"{folder} holds a profile or a single backup; choose a folder of its own for "
                "automatic backups."
            )
        self._make_folder(folder)
        self._quietly_set(
            {
                _FOLDER: str(folder),
                _KEEP: str(keep),
                PROFILE_NAME_SETTING: self._session.profile_name,
                _ELSEWHERE: None,
            }
        )

    @staticmethod
    def _make_folder(folder: Path) -> None:
        try:
            folder.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise ServiceError(
                f"The backup folder {folder} cannot be made ({exc.strerror}); choose another."
            ) from None

    def turn_off(self) -> None:
        """No more automatic backups; the backups already made are left where they are."""
        self._quietly_set({_FOLDER: None, _PENDING: None, _ELSEWHERE: None})

    # --- status -------------------------------------------------------------------------------

    def _last_good(self) -> LastBackup | None:
        value = self._get(_LAST_GOOD)
        if not value:
            return None
        with contextlib.suppress(orjson.JSONDecodeError, KeyError, TypeError, ValueError):
            body = orjson.loads(value)
            return LastBackup(Path(body["path"]), datetime.fromisoformat(body["made"]))
        return None

    def _known_since(self) -> datetime | None:
        """Our newest known state: the last good backup, or the backup we were restored from."""
        good = self._last_good()
        times = [good.made] if good else []
        value = self._get(_KNOWN_SINCE)
        with contextlib.suppress(TypeError, ValueError):
            times.append(datetime.fromisoformat(value or ""))
        return max(times) if times else None

    def _failure(self) -> str | None:
        value = self._get(_FAILURE)
        with contextlib.suppress(orjson.JSONDecodeError, KeyError, TypeError):
            return str(orjson.loads(value or "")["message"])
        return None

    def status(self) -> BackupStatus:
        folder = self.folder
        elsewhere = self._get(_ELSEWHERE)
        if folder is not None:
            with contextlib.suppress(OSError):
                found = backups_in(folder, self._vault.header.profile_id)
                elsewhere = self._elsewhere_warning(found, self._known_since()) or elsewhere
        return BackupStatus(folder, self.keep, self._last_good(), self._failure(), elsewhere)

    def _elsewhere_warning(self, found: list[FoundBackup], since: datetime | None) -> str | None:
        newer = newer_from_elsewhere(found, self._device, since)
        if not newer:
            return None
        latest = newer[-1]
        return (
            f"A backup of this profile made on another computer ({latest.path.name}, "
            f"{latest.made:%Y-%m-%d %H:%M} UTC) is newer than this computer's last backup; "
            f"it was left as it is. {TWO_COMPUTERS}"
        )

    # --- when -----------------------------------------------------------------------------

    @property
    def changed(self) -> bool:
        return self._conn.total_changes != self._backed_up_changes or self._get(_PENDING) == "1"

    def due(self) -> bool:
        """On, something changed, and the last try was at least `min_interval` ago. Never
        while a write is under way (an import's transaction): its rows are not committed, so
        a backup now would count them as backed up without holding them."""
        if self._conn.in_transaction or self.folder is None or not self.changed:
            return False
        last = self._last_attempt
        if last is None:
            good = self._last_good()
            last = good.made if good else None
        return last is None or self.clock() - last >= self.min_interval

    # --- doing it -------------------------------------------------------------------------

    def plan(self, folder: Path | None = None) -> BackupPlan:
        """What `execute` needs, read here on the session's thread."""
        target = folder or self.folder
        if folder is not None:  # a folder chosen just now ("Back up now…") may be new
            self._make_folder(folder)
        if target is None:
            raise ServiceError(
                "No backup folder is chosen. Choose one: Settings → Automatic backups, or "
                "`phr vault auto-backup FOLDER`."
            )
        if self._get(PROFILE_NAME_SETTING) != self._session.profile_name:
            # Inside the copy, so a restore can offer the same name (it is not in the
            # backup's file names: the folder may be a cloud's). Not worth failing for.
            with contextlib.suppress(VaultError, DatabaseError):
                self._quietly_set({PROFILE_NAME_SETTING: self._session.profile_name})
        self._last_attempt = self.clock()
        return BackupPlan(target, self.keep, self._known_since(), self._conn.total_changes)

    def execute(self, plan: BackupPlan) -> BackupOutcome:
        """Write, verify and rotate; safe on a worker thread. Never raises for a problem the
        patient can act on: the outcome carries the message."""
        try:
            return self._execute(plan)
        except (VaultError, ServiceError) as exc:
            return BackupOutcome(plan, error=str(exc))
        except (OSError, DatabaseError) as exc:
            log.warning("backup failed: %s", exc)
            kept = "The profile was not changed and earlier backups were kept."
            message = str(storage_error(exc, f"write a backup in {plan.folder}", kept, plan.folder))
            return BackupOutcome(plan, error=message)

    def _execute(self, plan: BackupPlan) -> BackupOutcome:
        if not plan.folder.is_dir():
            raise ServiceError(
                f"the backup folder {plan.folder} is not there (a drive unplugged, or the "
                "folder moved). Plug the drive in, or choose another folder in Settings → "
                "Automatic backups."
            )
        profile_id = self._vault.header.profile_id
        remove_stale_partials(plan.folder)
        earlier = backups_in(plan.folder, profile_id)
        elsewhere = newer_from_elsewhere(earlier, self._device, plan.known_since)
        made = self.clock()
        name = f"{BACKUP_PREFIX}{made:%Y%m%dT%H%M%S%fZ}-{self._device[:8]}"
        meta = BackupMeta(profile_id, made.isoformat(), self._device)
        profile_dir = self._vault.profile_dir
        # The header first: its audit anchor can then never be ahead of the copied chain.
        header_bytes = (profile_dir / HEADER_NAME).read_bytes()
        path = write_backup_folder(
            profile_dir / DB_NAME, header_bytes, self._vault.data_key, plan.folder, name, meta
        )
        for old in to_rotate([*earlier, FoundBackup(path, meta)], plan.keep, elsewhere):
            _remove_backup(old.path)
        warning = self._elsewhere_warning(elsewhere, plan.known_since) if elsewhere else None
        return BackupOutcome(plan, path=path, made=made, elsewhere=warning)

    def record(self, outcome: BackupOutcome) -> None:
        """Note the result in the vault (on the session's thread). Its own rows do not count
        as a change; the changes made while the backup ran still do."""
        if outcome.ok:
            assert outcome.path is not None and outcome.made is not None
            last = {"path": str(outcome.path), "made": outcome.made.isoformat()}
            with self._session.write_lock, contextlib.suppress(VaultError, DatabaseError):
                before = self._conn.total_changes
                self._set(
                    {
                        _LAST_GOOD: orjson.dumps(last).decode(),
                        _FAILURE: None,
                        _PENDING: None,
                        **({_ELSEWHERE: outcome.elsewhere} if outcome.elsewhere else {}),
                    }
                )
                self._vault.audit.append("backup")
                written = self._conn.total_changes - before
                self._backed_up_changes = outcome.plan.changes_at_start + written
        else:
            failure = {"message": outcome.error, "at": self.clock().isoformat()}
            with self._session.write_lock, contextlib.suppress(VaultError, DatabaseError):
                self._quietly_set({_FAILURE: orjson.dumps(failure).decode()})

    def run_now(self, folder: Path | None = None) -> BackupOutcome:
        """Plan, execute and record in a row: "Back up now", the CLI."""
        outcome = self.execute(self.plan(folder))
        self.record(outcome)
        return outcome

    def run_if_due(self) -> BackupOutcome | None:
        return self.run_now() if self.due() else None

    def on_close(self) -> None:
        """A change not backed up yet is remembered, so the next session backs it up."""
        if self.folder is None or self._conn.total_changes == self._backed_up_changes:
            return
        with contextlib.suppress(VaultError, DatabaseError):
            self._quietly_set({_PENDING: "1"})


def _remove_backup(path: Path) -> None:
    try:
        shutil.rmtree(path)
    except OSError as exc:  # a rotation that fails leaves one backup too many, no harm
        log.warning("an old backup could not be removed: %s", exc)


def restored_settings(made: datetime | None) -> dict[str, str | None]:
    """What a restored vault notes about its origin: the backup it came from (or the time of
    the restore) is its newest known state, so the first computer's older backups are not
    taken for a second writer, and anything it backs up later is."""
    return {
        _KNOWN_SINCE: (made or datetime.now(UTC)).isoformat(),
        _LAST_GOOD: None,
        _PENDING: None,
        _FAILURE: None,
    }
