"""Errors the UI and CLI show as they are: each layer's family, re-exported in one place."""

from __future__ import annotations

from phr_desktop.interop.errors import ImportError_, UnreadableFile
from phr_desktop.services.tasks import Cancelled
from phr_desktop.sharing.errors import ShareError
from phr_desktop.smart.errors import AuthorizationError, DiscoveryError, SyncError, TokenExpired
from phr_desktop.vault.errors import (
    KeyringRefused,
    StorageError,
    StorageFull,
    TooManyAttempts,
    VaultBusy,
    VaultDamaged,
    VaultError,
    VaultNotFound,
    WrongPassphrase,
    WrongRecoveryKey,
)


class ServiceError(Exception):
    """A use case could not be carried out; the message says what to do."""


USER_ERRORS: tuple[type[Exception], ...] = (
    VaultError,
    ImportError_,
    SyncError,
    ServiceError,
    ShareError,
    Cancelled,
)

__all__ = [
    "USER_ERRORS",
    "AuthorizationError",
    "Cancelled",
    "DiscoveryError",
    "ImportError_",
    "KeyringRefused",
    "ServiceError",
    "ShareError",
    "StorageError",
    "StorageFull",
    "SyncError",
    "TokenExpired",
    "TooManyAttempts",
    "UnreadableFile",
    "VaultBusy",
    "VaultDamaged",
    "VaultError",
    "VaultNotFound",
    "WrongPassphrase",
    "WrongRecoveryKey",
]
