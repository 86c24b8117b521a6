"""Unwrapping the data key with a passphrase, with the wrong-try throttle, and telling a wrong
passphrase from a header whose KDF settings or wrap were changed since this device last saw it
authentic (see `throttle.py`): that is reported as an edited header and not counted."""

from __future__ import annotations

from pathlib import Path

from phr_desktop.vault.errors import TooManyAttempts, VaultDamaged, WrongPassphrase
from phr_desktop.vault.header import VaultHeader
from phr_desktop.vault.keys import derive_passphrase_key, unwrap_key
from phr_desktop.vault.storage_errors import storage_error
from phr_desktop.vault.throttle import UnlockThrottle

HEADER_CHANGED = (
    "That passphrase did not unlock this profile, and its key header ({path}) is not the one "
    "last unlocked on this device: its key settings or passphrase wrap were changed. If the "
    "passphrase was changed on another computer, use the new one; otherwise the header was "
    "edited or replaced: restore header.json from a backup of the profile folder, or unlock "
    "with your recovery key. This try was not counted as a wrong passphrase."
)


def unwrap_with_passphrase(
    header_path: Path, header: VaultHeader, passphrase: str, throttle: UnlockThrottle
) -> bytes:
    """The data key; or TooManyAttempts, WrongPassphrase (counted), VaultDamaged (an edited
    header, not counted)."""
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
    if data_key is not None:
        return data_key
    known = throttle.known_header()
    if known is not None and known != header.passphrase_fingerprint():
        raise VaultDamaged(HEADER_CHANGED.format(path=header_path))
    try:
        wait_next = throttle.record_failure()
    except OSError as exc:
        note = str(storage_error(exc, "count this try", ""))
        raise WrongPassphrase(note=note) from None
    raise WrongPassphrase(wait_next)
