"""The vault layer's exceptions: each carries a message a patient can act on."""

from __future__ import annotations


class VaultError(Exception):
    """Base of every vault problem; `str(error)` is the message to show the user."""


class WrongPassphrase(VaultError):
    def __init__(self, wait_seconds: float = 0.0) -> None:
        message = "That passphrase does not unlock this profile. Check it and try again"
        if wait_seconds:
            message += f" (after {wait_seconds:.0f} s, because of repeated wrong tries)"
        super().__init__(message + ", or use your recovery key.")
        self.wait_seconds = wait_seconds


class TooManyAttempts(VaultError):
    def __init__(self, wait_seconds: float) -> None:
        super().__init__(
            f"Too many wrong passphrases in a row. Wait {wait_seconds:.0f} s before the next "
            "try, or unlock with your recovery key."
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


class StorageFull(VaultError):
    pass
