"""The vault layer's exceptions: each carries a message a patient can act on."""

from __future__ import annotations

import math


def whole_seconds(seconds: float) -> int:
    """A wait as shown to a person: rounded up, so a wait that is still running never reads 0 s."""
    return max(1, math.ceil(seconds))


class VaultError(Exception):
    """Base of every vault problem; `str(error)` is the message to show the user."""


class WrongPassphrase(VaultError):
    def __init__(self, wait_seconds: float = 0.0, note: str = "") -> None:
        message = "That passphrase does not unlock this profile. Check it and try again"
        if wait_seconds > 0:
            message += f" (after {whole_seconds(wait_seconds)} s, because of repeated wrong tries)"
        message += ", or use your recovery key."
        super().__init__(f"{message} {note}" if note else message)
        self.wait_seconds = wait_seconds


class TooManyAttempts(VaultError):
    def __init__(self, wait_seconds: float) -> None:
        super().__init__(
            f"Too many wrong passphrases in a row. Wait {whole_seconds(wait_seconds)} s before "
            "the next try, or unlock with your recovery key."
        )
        self.wait_seconds = wait_seconds


class WrongRecoveryKey(VaultError):
    pass


class VaultNotFound(VaultError):
    pass


class VaultDamaged(VaultError):
    """The vault file or its header is corrupted, truncated or was changed outside the app."""


class VaultBusy(VaultError):
    pass


class ProfileExists(VaultError):
    pass


class KeyringRefused(VaultError):
    pass


class StorageError(VaultError):
    """A file of the profile could not be written or read: the disk is full, read-only, gone or
    failing. Not damage: what is stored is as it was, and the message says what to do."""


class StorageFull(StorageError):
    """The disk (or the user's quota) is full."""
