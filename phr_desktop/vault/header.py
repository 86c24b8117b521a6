"""The vault header: KDF parameters and the two wraps of the data key, in a small JSON file.

Integrity is layered: a SHA-256 checksum catches accidental damage before any key work; the
wraps' AES-GCM associated data binds the KDF parameters; after unlocking, an HMAC under the
data key covers the whole header, so any edit by someone without the key is detected.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import uuid
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson

from phr_desktop.vault.errors import VaultDamaged, VaultNotFound
from phr_desktop.vault.files import write_atomically
from phr_desktop.vault.keys import KdfParams, hkdf

FORMAT = "phr-desktop-vault"
VERSION = 1
_DAMAGED = (
    "The profile's key header ({path}) is damaged or was changed outside phr-desktop ({why}). "
    "Restore it from a backup of the profile folder; your recovery key cannot help while "
    "the header is unreadable."
)


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def _unb64(text: Any) -> bytes:
    if not isinstance(text, str):
        raise ValueError("not base64 text")
    return base64.b64decode(text, validate=True)


def _canonical(value: Any) -> bytes:
    return orjson.dumps(value, option=orjson.OPT_SORT_KEYS)


@dataclass(frozen=True)
class Wrap:
    nonce: bytes
    ciphertext: bytes


@dataclass(frozen=True)
class VaultHeader:
    profile_id: str
    created: str
    kdf: KdfParams
    recovery_salt: bytes
    passphrase_wrap: Wrap
    recovery_wrap: Wrap
    mac: str = ""

    @staticmethod
    def new_identity() -> tuple[str, str]:
        return str(uuid.uuid4()), datetime.now(UTC).isoformat(timespec="seconds")

    def passphrase_aad(self) -> bytes:
        return _canonical(
            {
                "format": FORMAT,
                "version": VERSION,
                "profile": self.profile_id,
                "kdf": self._kdf(),
            }
        )

    def recovery_aad(self) -> bytes:
        return _canonical(
            {
                "format": FORMAT,
                "version": VERSION,
                "profile": self.profile_id,
                "recovery_salt": _b64(self.recovery_salt),
            }
        )

    def _kdf(self) -> dict[str, Any]:
        return {
            "alg": "argon2id",
            "time_cost": self.kdf.time_cost,
            "memory_kib": self.kdf.memory_kib,
            "parallelism": self.kdf.parallelism,
            "salt": _b64(self.kdf.salt),
        }

    def _body(self) -> dict[str, Any]:
        return {
            "format": FORMAT,
            "version": VERSION,
            "profile_id": self.profile_id,
            "created": self.created,
            "kdf": self._kdf(),
            "recovery_salt": _b64(self.recovery_salt),
            "wraps": {
                "passphrase": {
                    "nonce": _b64(self.passphrase_wrap.nonce),
                    "ciphertext": _b64(self.passphrase_wrap.ciphertext),
                },
                "recovery": {
                    "nonce": _b64(self.recovery_wrap.nonce),
                    "ciphertext": _b64(self.recovery_wrap.ciphertext),
                },
            },
        }

    def compute_mac(self, data_key: bytes) -> str:
        key = hkdf(data_key, b"phr-desktop header mac v1")
        return hmac.new(key, _canonical(self._body()), hashlib.sha256).hexdigest()

    def sealed(self, data_key: bytes) -> VaultHeader:
        return replace(self, mac=self.compute_mac(data_key))

    def verify_mac(self, data_key: bytes, path: Path) -> None:
        if not hmac.compare_digest(self.mac, self.compute_mac(data_key)):
            raise VaultDamaged(_DAMAGED.format(path=path, why="its signature does not match"))

    def to_bytes(self) -> bytes:
        body = self._body()
        body["mac"] = self.mac
        body["checksum"] = hashlib.sha256(_canonical(body)).hexdigest()
        return orjson.dumps(body, option=orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS)

    def save(self, path: Path) -> None:
        write_atomically(path, self.to_bytes())


def load_header(path: Path) -> VaultHeader:
    """Read and sanity-check a header; VaultDamaged names what is wrong."""
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise VaultNotFound(
            f"The profile's key header is missing ({path}). If the profile folder was moved "
            "or partly copied, put the whole folder back."
        ) from None
    try:
        body = orjson.loads(raw)
        checksum = body.pop("checksum")
        if not hmac.compare_digest(checksum, hashlib.sha256(_canonical(body)).hexdigest()):
            raise VaultDamaged(_DAMAGED.format(path=path, why="checksum mismatch"))
        if body.get("format") != FORMAT or body.get("version") != VERSION:
            raise VaultDamaged(_DAMAGED.format(path=path, why="unknown format or version"))
        kdf = body["kdf"]
        if kdf.get("alg") != "argon2id":
            raise VaultDamaged(_DAMAGED.format(path=path, why="unknown key derivation"))
        params = KdfParams(
            time_cost=int(kdf["time_cost"]),
            memory_kib=int(kdf["memory_kib"]),
            parallelism=int(kdf["parallelism"]),
            salt=_unb64(kdf["salt"]),
        )
        if not params.within_bounds():
            raise VaultDamaged(_DAMAGED.format(path=path, why="key parameters out of bounds"))
        wraps = body["wraps"]
        return VaultHeader(
            profile_id=str(body["profile_id"]),
            created=str(body["created"]),
            kdf=params,
            recovery_salt=_unb64(body["recovery_salt"]),
            passphrase_wrap=Wrap(
                _unb64(wraps["passphrase"]["nonce"]),
                _unb64(wraps["passphrase"]["ciphertext"]),
            ),
            recovery_wrap=Wrap(
                _unb64(wraps["recovery"]["nonce"]),
                _unb64(wraps["recovery"]["ciphertext"]),
            ),
            mac=str(body.get("mac", "")),
        )
    except VaultDamaged:
        raise
    except (
        orjson.JSONDecodeError,
        KeyError,
        TypeError,
        ValueError,
        AttributeError,
    ) as exc:
        raise VaultDamaged(_DAMAGED.format(path=path, why=f"unreadable: {exc}")) from None


def new_salt() -> bytes:
    return os.urandom(16)
