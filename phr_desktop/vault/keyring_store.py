"""'Remember on this device': a copy of the data key in the OS keyring, secure backends only.

The keyring is a convenience; the passphrase and recovery key always work without it.
"""

from __future__ import annotations

import base64
from collections.abc import Iterable

import keyring
import keyring.errors
from keyring.backend import KeyringBackend

from phr_desktop.vault.errors import KeyringRefused

SERVICE = "phr-desktop"

# Backends that keep secrets encrypted by the OS session: macOS Keychain, Windows Credential
# Locker, Secret Service (GNOME Keyring, KeePassXC), KWallet, libsecret.
SECURE_BACKEND_MODULES = frozenset(
    {
        "keyring.backends.macOS",
        "keyring.backends.Windows",
        "keyring.backends.SecretService",
        "keyring.backends.kwallet",
        "keyring.backends.libsecret",
    }
)


def _leaf_backends(backend: KeyringBackend) -> Iterable[KeyringBackend]:
    inner = getattr(backend, "backends", None)  # the chainer wraps several
    if inner:
        for child in inner:
            yield from _leaf_backends(child)
    else:
        yield backend


def secure_backend(
    backend: KeyringBackend | None = None,
    allowed_modules: frozenset[str] = SECURE_BACKEND_MODULES,
) -> KeyringBackend:
    """The active backend if every backend it may write to is secure; else KeyringRefused."""
    backend = backend or keyring.get_keyring()
    leaves = list(_leaf_backends(backend))
    insecure = [b for b in leaves if type(b).__module__ not in allowed_modules]
    if not leaves or insecure:
        names = ", ".join(type(b).__module__ + "." + type(b).__name__ for b in insecure or leaves)
        raise KeyringRefused(
            "This computer has no secure keyring to remember the profile in (found: "
            f"{names}). Unlock with your passphrase instead; nothing was stored."
        )
    return backend


def remember_data_key(
    profile_id: str,
    data_key: bytes,
    backend: KeyringBackend | None = None,
    allowed_modules: frozenset[str] = SECURE_BACKEND_MODULES,
) -> None:
    store = secure_backend(backend, allowed_modules)
    try:
        store.set_password(SERVICE, profile_id, base64.b64encode(data_key).decode("ascii"))
    except keyring.errors.KeyringError as exc:
        raise KeyringRefused(
            f"The keyring refused to store the key ({exc}). Unlock with your passphrase instead."
        ) from None


def recall_data_key(
    profile_id: str,
    backend: KeyringBackend | None = None,
    allowed_modules: frozenset[str] = SECURE_BACKEND_MODULES,
) -> bytes | None:
    store = secure_backend(backend, allowed_modules)
    try:
        value = store.get_password(SERVICE, profile_id)
    except keyring.errors.KeyringError as exc:
        raise KeyringRefused(
            f"The keyring could not be read ({exc}). Unlock with your passphrase instead."
        ) from None
    return base64.b64decode(value) if value else None


def forget_data_key(profile_id: str, backend: KeyringBackend | None = None) -> None:
    store = backend or keyring.get_keyring()
    try:
        store.delete_password(SERVICE, profile_id)
    except keyring.errors.PasswordDeleteError:
        pass
    except keyring.errors.KeyringError as exc:
        raise KeyringRefused(f"The keyring could not be changed ({exc}).") from None
