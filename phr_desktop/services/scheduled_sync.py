"""`phr sync --scheduled`: the run the OS timer starts while nobody is at the keyboard.

It may only use a key remembered on this device (the keyring); without one it stops with a
message and leaves a marker beside the profile (no health data) so the app says so at its next
start. Unlocked, it syncs the connections that are due and leaves notices in the vault.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from pathlib import Path

from filelock import FileLock, Timeout

from phr_desktop.services.errors import ServiceError
from phr_desktop.services.notices import record_scheduled_problem
from phr_desktop.services.profiles import Profiles
from phr_desktop.services.session import Session
from phr_desktop.services.sync_schedule import DueSyncResult, SyncSchedules
from phr_desktop.services.tasks import ProgressCallback, no_progress
from phr_desktop.vault.errors import KeyringRefused, VaultBusy, VaultError
from phr_desktop.vault.header import load_header
from phr_desktop.vault.keyring_store import recall_data_key
from phr_desktop.vault.vault import HEADER_NAME, LOCK_NAME


class LeftToTheApp(ServiceError):
    """The profile is open in the app, which syncs it itself: not a failure of the timer."""


def _open_elsewhere(profile_dir: Path) -> bool:
    """Whether the app (or another `phr`) holds the profile: asked before the keyring, so an
    open profile is never reported as "not remembered"."""
    try:
        with FileLock(profile_dir / LOCK_NAME, timeout=0):
            return False
    except Timeout:
        return True


def remembered_on_device(profiles: Profiles, name: str) -> bool:
    """Whether a scheduled run can unlock `name` alone (its key is in a secure keyring)."""
    try:
        header = load_header(profiles.path(name) / HEADER_NAME)
        return recall_data_key(header.profile_id) is not None
    except (KeyringRefused, VaultError, OSError):
        return False


def run_scheduled_sync(
    profiles: Profiles,
    name: str,
    *,
    progress: ProgressCallback = no_progress,
    now: datetime | None = None,
    unlock: Callable[[], Session] | None = None,
) -> DueSyncResult:
    """Unlock `name` with its remembered key (only) and sync what is due."""
    if not profiles.exists(name):
        profiles.unlock(name)  # raises the usual "no profile named …" message
    left_to_the_app = LeftToTheApp(
        f"Profile {name!r} is open in phr-desktop, which syncs it while it runs; the "
        "scheduled sync left it to the app."
    )
    if _open_elsewhere(profiles.path(name)):
        raise left_to_the_app
    try:
        session = unlock() if unlock else profiles.unlock(name, use_keyring=True)
    except VaultBusy:  # opened in the moment between the check and the unlock
        raise left_to_the_app from None
    except (KeyringRefused, ServiceError, VaultError) as exc:
        record_scheduled_problem(profiles.path(name), now)
        raise ServiceError(
            f"The scheduled sync could not unlock profile {name!r} without you: {exc} "
            "Nothing was synced. Turn on 'remember on this device' (`phr profile remember`) "
            "or sync from the app; the app will remind you at its next start."
        ) from None
    with session:
        return SyncSchedules(session).sync_due(progress=progress, now=now)
