"""'Remember on this device': a copy of the data key in the OS keyring, secure backends only.

The keyring is a convenience; the passphrase and recovery key always work without it.
"""

from __future__ import annotations

import base64
from collections.abc import Iterable
from types import ModuleType
from typing import TYPE_CHECKING

from phr_desktop.vault.errors import KeyringRefused

if TYPE_CHECKING:
    from keyring.backend import KeyringBackend

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


def _keyring() -> ModuleType:
    """The keyring package, imported on first use: it loads its backends' entry points through
    importlib metadata (~0.1 s), which opening a profile with its passphrase never needs."""
    import keyring
    import keyring.errors

    return keyring


def _leaf_backends(backend: KeyringBackend) -> Iterable[KeyringBackend]:
    inner = getattr(backend, "backends", None)  # the chainer wraps several
    if inner:
        for child in inner:
            yield from _leaf_backends(child)
    else:
        yield backend


def _priority(backend: KeyringBackend) -> float:
    try:
        return float(backend.priority)
    except Exception:  # a backend may raise when asked about a service it cannot reach
        return 0.0


def secure_backends(
    backend: KeyringBackend | None = None,
    allowed_modules: frozenset[str] = SECURE_BACKEND_MODULES,
) -> list[KeyringBackend]:
    """The secure backends among the active one (or the chain's members), highest priority
    first. Insecure members (keyrings.alt's files, a plaintext store) are left out, never
    written to nor read from: a chain that holds one beside a Secret Service is still usable."""
    backend = backend or _keyring().get_keyring()
    secure = [b for b in _leaf_backends(backend) if type(b).__module__ in allowed_modules]
    return sorted(secure, key=_priority, reverse=True)  # stable: the chain's order on ties


def secure_backend(
    backend: KeyringBackend | None = None,
    allowed_modules: frozenset[str] = SECURE_BACKEND_MODULES,
) -> KeyringBackend:
    """The highest-priority secure backend; KeyringRefused when there is none."""
    backend = backend or _keyring().get_keyring()
    found = secure_backends(backend, allowed_modules)
    if not found:
        leaves = list(_leaf_backends(backend))
        names = ", ".join(type(b).__module__ + "." + type(b).__name__ for b in leaves) or "none"
        raise KeyringRefused(
            "This computer has no secure keyring to remember the profile in (found: "
            f"{names}). Unlock with your passphrase instead; nothing was stored."
        )
    return found[0]


def remember_data_key(
    profile_id: str,
    data_key: bytes,
    backend: KeyringBackend | None = None,
    allowed_modules: frozenset[str] = SECURE_BACKEND_MODULES,
) -> None:
    store = secure_backend(backend, allowed_modules)
    errors = _keyring().errors
    try:
        store.set_password(SERVICE, profile_id, base64.b64encode(data_key).decode("ascii"))
    except errors.KeyringError as exc:
        raise KeyringRefused(
            f"The keyring refused to store the key ({exc}). Unlock with your passphrase instead."
        ) from None


def recall_data_key(
    profile_id: str,
    backend: KeyringBackend | None = None,
    allowed_modules: frozenset[str] = SECURE_BACKEND_MODULES,
) -> bytes | None:
    """The remembered key, read from secure backends only (a copy planted in an insecure
    one is never used)."""
    secure_backend(backend, allowed_modules)  # none secure: refused, as for remembering
    errors = _keyring().errors
    for store in secure_backends(backend, allowed_modules):
        try:
            value = store.get_password(SERVICE, profile_id)
        except errors.KeyringError as exc:
            raise KeyringRefused(
                f"The keyring could not be read ({exc}). Unlock with your passphrase instead."
            ) from None
        if value:
            return base64.b64decode(value)
    return None


def forget_data_key(
    profile_id: str,
    backend: KeyringBackend | None = None,
    allowed_modules: frozenset[str] = SECURE_BACKEND_MODULES,
) -> None:
    """Remove the remembered key from every secure backend (only those were ever written)."""
    errors = _keyring().errors
    for store in secure_backends(backend, allowed_modules):
        try:
            store.delete_password(SERVICE, profile_id)
        except errors.PasswordDeleteError:
            pass
        except errors.KeyringError as exc:
            raise KeyringRefused(f"The keyring could not be changed ({exc}).") from None
