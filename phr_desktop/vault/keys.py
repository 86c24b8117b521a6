"""The key hierarchy: a random data key, wrapped by a passphrase key and by a recovery key.

The data key is the raw SQLCipher key. Changing the passphrase re-wraps it; the database is
never re-encrypted.
"""

from __future__ import annotations

import hmac
import os
import secrets
import time
from dataclasses import dataclass

from argon2.low_level import Type, hash_secret_raw
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from phr_desktop.vault.errors import WrongRecoveryKey

DATA_KEY_BYTES = 32
NONCE_BYTES = 12

# Argon2id bounds from the design: never weaker than 64 MiB / 3 passes, never above 1 GiB.
MIN_MEMORY_KIB = 64 * 1024
MAX_MEMORY_KIB = 1024 * 1024
MIN_TIME_COST = 3
MAX_TIME_COST = 10
PARALLELISM = 4
TARGET_SECONDS = 0.5


@dataclass(frozen=True)
class KdfParams:
    time_cost: int
    memory_kib: int
    parallelism: int
    salt: bytes

    def within_bounds(self) -> bool:
        return (
            MIN_TIME_COST <= self.time_cost <= MAX_TIME_COST
            and MIN_MEMORY_KIB <= self.memory_kib <= MAX_MEMORY_KIB
            and 1 <= self.parallelism <= 16
            and len(self.salt) >= 16
        )

    @classmethod
    def minimum(cls) -> KdfParams:
        """The floor: what calibration never goes below (also handy for fast tests)."""
        return cls(MIN_TIME_COST, MIN_MEMORY_KIB, PARALLELISM, os.urandom(16))


def new_data_key() -> bytes:
    return secrets.token_bytes(DATA_KEY_BYTES)


def derive_passphrase_key(passphrase: str, params: KdfParams) -> bytes:
    return hash_secret_raw(
        passphrase.encode("utf-8"),
        params.salt,
        time_cost=params.time_cost,
        memory_cost=params.memory_kib,
        parallelism=params.parallelism,
        hash_len=32,
        type=Type.ID,
    )


def calibrate_kdf(target_seconds: float = TARGET_SECONDS) -> KdfParams:
    """Pick Argon2id costs that take about `target_seconds` on this machine, within the bounds.

    Memory is raised first (it is what hurts GPU attackers), then passes.
    """
    params = KdfParams.minimum()
    while True:
        started = time.perf_counter()
        derive_passphrase_key("calibration", params)
        elapsed = time.perf_counter() - started
        if elapsed >= target_seconds * 0.7:
            return params
        factor = target_seconds / max(elapsed, 1e-3)
        if params.memory_kib < MAX_MEMORY_KIB:
            memory = min(MAX_MEMORY_KIB, int(params.memory_kib * min(factor, 4.0)))
            params = KdfParams(params.time_cost, memory, params.parallelism, params.salt)
        elif params.time_cost < MAX_TIME_COST:
            time_cost = min(MAX_TIME_COST, int(params.time_cost * factor) + 1)
            params = KdfParams(time_cost, params.memory_kib, params.parallelism, params.salt)
        else:
            return params


def wrap_key(kek: bytes, data_key: bytes, aad: bytes) -> tuple[bytes, bytes]:
    """AES-256-GCM wrap; `aad` binds the wrap to the header fields it depends on."""
    nonce = secrets.token_bytes(NONCE_BYTES)
    return nonce, AESGCM(kek).encrypt(nonce, data_key, aad)


def unwrap_key(kek: bytes, nonce: bytes, ciphertext: bytes, aad: bytes) -> bytes | None:
    """The data key, or None when the KEK is wrong or the wrap/aad was altered."""
    try:
        return AESGCM(kek).decrypt(nonce, ciphertext, aad)
    except InvalidTag:
        return None


def same_text(given: str, expected: str) -> bool:
    """Constant-time equality of a MAC read from a file with the one computed; any text (even
    non-ASCII, which `hmac.compare_digest` refuses for str) is simply unequal."""
    return hmac.compare_digest(
        given.encode("utf-8", "surrogatepass"), expected.encode("utf-8", "surrogatepass")
    )


def hkdf(key: bytes, info: bytes, salt: bytes | None = None) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=salt, info=info).derive(key)


# --- Recovery key ---------------------------------------------------------------------------
# 160 random bits in Crockford base32: 8 groups of 4 symbols, each followed by a check symbol,
# e.g. "7K2M9-QXRTA-...". The check symbol uses odd weights modulo 32, so any single mistyped
# symbol is caught, and the group number is mixed in, so swapped groups are caught too; the
# error names the group to look at.

_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
_DECODE = {c: i for i, c in enumerate(_ALPHABET)}
_DECODE.update({"O": 0, "I": 1, "L": 1})
_GROUPS = 8
_GROUP_LEN = 4
RECOVERY_SECRET_BYTES = 20


def _check_symbol(values: list[int], group_index: int) -> int:
    weights = (1, 3, 5, 7)
    return (sum(w * v for w, v in zip(weights, values, strict=True)) + 7 * group_index + 3) % 32


def new_recovery_secret() -> bytes:
    return secrets.token_bytes(RECOVERY_SECRET_BYTES)


def format_recovery_key(secret: bytes) -> str:
    number = int.from_bytes(secret, "big")
    symbols = [(number >> (5 * i)) & 31 for i in reversed(range(_GROUPS * _GROUP_LEN))]
    groups = []
    for g in range(_GROUPS):
        values = symbols[g * _GROUP_LEN : (g + 1) * _GROUP_LEN]
        text = "".join(_ALPHABET[v] for v in values)
        groups.append(text + _ALPHABET[_check_symbol(values, g)])
    return "-".join(groups)


def parse_recovery_key(text: str) -> bytes:
    """The secret behind a typed recovery key; raises WrongRecoveryKey naming the bad group."""
    cleaned = "".join(ch for ch in text.upper() if ch not in " -\t\n")
    if len(cleaned) != _GROUPS * (_GROUP_LEN + 1):
        raise WrongRecoveryKey(
            f"A recovery key has {_GROUPS} groups of 5 characters; this one has "
            f"{len(cleaned)} characters. Check it against your printed copy."
        )
    symbols: list[int] = []
    for g in range(_GROUPS):
        chunk = cleaned[g * 5 : g * 5 + 5]
        try:
            values = [_DECODE[ch] for ch in chunk]
        except KeyError as bad:
            raise WrongRecoveryKey(
                f"Group {g + 1} of the recovery key has a character that is never used "
                f"({bad.args[0]!r}). Check it against your printed copy."
            ) from None
        if _check_symbol(values[:4], g) != values[4]:
            raise WrongRecoveryKey(
                f"Group {g + 1} of the recovery key has a typo. Check it against your printed copy."
            )
        symbols.extend(values[:4])
    number = 0
    for value in symbols:
        number = (number << 5) | value
    return number.to_bytes(RECOVERY_SECRET_BYTES, "big")


def recovery_kek(secret: bytes, salt: bytes) -> bytes:
    # The secret has 160 bits of entropy, so a fast KDF is enough; Argon2 would add nothing.
    return hkdf(secret, b"phr-desktop recovery wrap v1", salt=salt)
