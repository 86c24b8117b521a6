"""The key a patient hands out with a share: easy to read out, typo-checked, and bound to the
patient's signing key.

A key is 200 bits written as 10 groups of 5 Crockford base32 characters (case-insensitive,
no I, L, O or U; O is read as 0 and I/L as 1), each group 4 data characters and a check
character, e.g. `7K2M9-QXRTA-…`. The bits are

* 128 random bits, the secret: the JWE content key is `HKDF-SHA256(secret, info)`;
* the first 72 bits of the signer's RFC 7638 thumbprint (SHA-256 of its public JWK).

Whoever holds the key can decrypt the file and so could re-sign its content with a key of
their own; the viewer then refuses it, because the signer's thumbprint no longer starts with
the 72 bits in the key (finding a P-256 key whose thumbprint does would take ~2^72 tries).

A key made before this format (43 base64url characters: the content key itself) still opens
its share, but names no signer: the viewer says so and the fingerprint must be compared by eye.
"""

from __future__ import annotations

import binascii
import secrets
from dataclasses import dataclass
from typing import Any

from phr_desktop.sharing.bundle import KEY_BYTES, b64url, b64url_decode
from phr_desktop.sharing.errors import ShareError
from phr_desktop.vault.keys import hkdf

SECRET_BYTES = 16
SIGNER_PREFIX_BYTES = 9  # 72 bits of the signer's thumbprint
_GROUPS = 10
_GROUP_DATA = 4
_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
_DECODE = {c: i for i, c in enumerate(_ALPHABET)}
_DECODE.update({"O": 0, "I": 1, "L": 1})
_CONTENT_KEY_INFO = b"phr-desktop share key v2"
_LEGACY_LENGTH = 43  # base64url of 32 bytes


@dataclass(frozen=True)
class ShareKey:
    """What the patient hands out. `signer_prefix` is None for a key of the old format, which
    does not say who signed the share."""

    secret: bytes
    signer_prefix: bytes | None

    @property
    def binds_signer(self) -> bool:
        return self.signer_prefix is not None

    def content_key(self) -> bytes:
        """The 32-byte JWE `dir` key (before any passcode is mixed in)."""
        if self.signer_prefix is None:
            return self.secret
        return hkdf(self.secret, _CONTENT_KEY_INFO + self.signer_prefix)

    def jwk(self) -> dict[str, Any]:
        """The content key as a JWK, for standard JOSE tools (a share without a passcode)."""
        return {"kty": "oct", "k": b64url(self.content_key())}

    def text(self) -> str:
        """The key as printed and typed: groups of five joined by '-' (old keys: as they were)."""
        if self.signer_prefix is None:
            return b64url(self.secret)
        number = int.from_bytes(self.secret + self.signer_prefix, "big")
        symbols = [(number >> (5 * i)) & 31 for i in reversed(range(_GROUPS * _GROUP_DATA))]
        groups = []
        for g in range(_GROUPS):
            values = symbols[g * _GROUP_DATA : (g + 1) * _GROUP_DATA]
            groups.append("".join(_ALPHABET[v] for v in values) + _ALPHABET[_check(values, g)])
        return "-".join(groups)

    def signed_by(self, thumbprint: str) -> bool:
        """Whether a signer with this RFC 7638 thumbprint is the one the key names."""
        if self.signer_prefix is None:
            return True
        return thumbprint_bytes(thumbprint)[:SIGNER_PREFIX_BYTES] == self.signer_prefix


def _check(values: list[int], group_index: int) -> int:
    # Odd weights mod 32: any single mistyped character changes the sum. The group number is
    # mixed in so that two swapped groups are caught too; the constant differs from the
    # recovery key's so that one is never taken for the other.
    weights = (1, 3, 5, 7)
    return (sum(w * v for w, v in zip(weights, values, strict=True)) + 7 * group_index + 11) % 32


def thumbprint_bytes(thumbprint: str) -> bytes:
    try:
        return b64url_decode(thumbprint)
    except (ValueError, binascii.Error):
        return b""


def new_share_key(signer_thumbprint: str) -> ShareKey:
    prefix = thumbprint_bytes(signer_thumbprint)[:SIGNER_PREFIX_BYTES]
    if len(prefix) != SIGNER_PREFIX_BYTES:
        raise ShareError("The signing key's fingerprint is not a SHA-256 thumbprint.")
    return ShareKey(secrets.token_bytes(SECRET_BYTES), prefix)


_WRONG_SHAPE = (
    "That is not a share key: it should be 10 groups of 5 letters and digits, like the one on "
    "the patient's hand-out (capitals or not, spaces and dashes do not matter)."
)


def _parse_legacy(cleaned: str) -> ShareKey | None:
    try:
        raw = b64url_decode(cleaned)
    except (ValueError, binascii.Error):
        return None
    return ShareKey(raw, None) if len(raw) == KEY_BYTES else None


def parse_share_key(text: str) -> ShareKey:
    """A typed or pasted key; a typo is reported with the group it is in."""
    if not isinstance(text, str):
        raise ShareError(_WRONG_SHAPE)
    compact = "".join(text.split())
    if len(compact) == _LEGACY_LENGTH:
        legacy = _parse_legacy(compact)
        if legacy is not None:
            return legacy
    cleaned = compact.replace("-", "").upper()
    if len(cleaned) != _GROUPS * (_GROUP_DATA + 1):
        raise ShareError(_WRONG_SHAPE + f" This one has {len(cleaned)} letters and digits, not 50.")
    symbols: list[int] = []
    for g in range(_GROUPS):
        chunk = cleaned[g * 5 : g * 5 + 5]
        values = [_DECODE.get(ch, -1) for ch in chunk]
        if -1 in values:
            bad = chunk[values.index(-1)]
            raise ShareError(
                f"Group {g + 1} of the key has a character that is never used ({bad!r}). "
                "Check it against the patient's hand-out."
            )
        if _check(values[:_GROUP_DATA], g) != values[_GROUP_DATA]:
            raise ShareError(
                f"Group {g + 1} of the key has a typo. Check it against the patient's hand-out."
            )
        symbols.extend(values[:_GROUP_DATA])
    number = 0
    for value in symbols:
        number = (number << 5) | value
    raw = number.to_bytes(SECRET_BYTES + SIGNER_PREFIX_BYTES, "big")
    return ShareKey(raw[:SECRET_BYTES], raw[SECRET_BYTES:])
