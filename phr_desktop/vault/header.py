"""The vault header: KDF parameters and the two wraps of the data key, in a small JSON file.

Integrity is layered: a SHA-256 checksum catches accidental damage before any key work; the
wraps' AES-GCM associated data binds the KDF parameters; after unlocking, an HMAC under the
data key covers the whole header, so any edit by someone without the key is detected.

The header also names its database (`database_id`, kept in the database too, see `binding.py`)
and anchors the audit chain (its length and newest MAC): both are under the header MAC, so a
database swapped for another, or cut back to an older copy, is told apart from this one.
Headers written before these fields existed have neither; they are added on first unlock.
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
from phr_desktop.vault.keys import KdfParams, hkdf, same_text
from phr_desktop.vault.storage_errors import storage_error

FORMAT = "phr-desktop-vault"
VERSION = 1
MAX_HEADER_BYTES = 64 * 1024  # a real header is under 1 kB; never read a huge file into memory
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
class AuditAnchor:
    """How long the audit chain was when the header was last written, and its newest MAC."""

    rows: int
    head: str


NO_AUDIT = AuditAnchor(0, "")


@dataclass(frozen=True)
class VaultHeader:
    profile_id: str
    created: str
    kdf: KdfParams
    recovery_salt: bytes
    passphrase_wrap: Wrap
    recovery_wrap: Wrap
    mac: str = ""
    database_id: str = ""  # empty: a header from before databases were bound (schema <= 6)
    audit: AuditAnchor = NO_AUDIT

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

    def passphrase_fingerprint(self) -> str:
        """What the passphrase unwrap depends on (KDF settings and the wrap), as a digest: the
        unlock throttle remembers it to tell an edited header from a wrong passphrase."""
        wrap = self.passphrase_wrap.nonce + self.passphrase_wrap.ciphertext
        return hashlib.sha256(self.passphrase_aad() + b"\x1f" + wrap).hexdigest()

    def _body(self) -> dict[str, Any]:
        body: dict[str, Any] = {
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
        if self.database_id:  # absent from older headers, whose MAC did not cover it
            body["database_id"] = self.database_id
            body["audit"] = {"rows": self.audit.rows, "head": self.audit.head}
        return body

    def compute_mac(self, data_key: bytes) -> str:
        key = hkdf(data_key, b"phr-desktop header mac v1")
        return hmac.new(key, _canonical(self._body()), hashlib.sha256).hexdigest()

    def sealed(self, data_key: bytes) -> VaultHeader:
        return replace(self, mac=self.compute_mac(data_key))

    def verify_mac(self, data_key: bytes, path: Path) -> None:
        if not same_text(self.mac, self.compute_mac(data_key)):
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
        with path.open("rb") as handle:
            raw = handle.read(MAX_HEADER_BYTES + 1)
    except FileNotFoundError:
        raise VaultNotFound(
            f"The profile's key header is missing ({path}). If the profile folder was moved "
            "or partly copied, put the whole folder back; otherwise restore header.json from "
            "a backup of the profile folder."
        ) from None
    except OSError as exc:
        raise storage_error(exc, f"read the profile's key header {path}", "") from None
    if len(raw) > MAX_HEADER_BYTES:
        raise VaultDamaged(_DAMAGED.format(path=path, why="far larger than a header"))
    try:
        body = orjson.loads(raw)
        checksum = body.pop("checksum")
        if not isinstance(checksum, str) or not same_text(
            checksum, hashlib.sha256(_canonical(body)).hexdigest()
        ):
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
            database_id=_database_id(body.get("database_id", "")),
            audit=_audit_anchor(body.get("audit")),
        )
    except VaultDamaged:
        raise
    except (
        orjson.JSONDecodeError,
        KeyError,
        TypeError,
        ValueError,
        AttributeError,
        OverflowError,
    ) as exc:
        raise VaultDamaged(_DAMAGED.format(path=path, why=f"unreadable: {exc}")) from None


def _database_id(value: Any) -> str:
    if not isinstance(value, str) or len(value) > 64:
        raise ValueError("database_id is not a short text")
    return value


def _audit_anchor(value: Any) -> AuditAnchor:
    if value is None:
        return NO_AUDIT
    rows, head = value["rows"], value["head"]
    if type(rows) is not int or rows < 0 or not isinstance(head, str) or len(head) > 64:
        raise ValueError("the audit anchor is not a count and a MAC")
    return AuditAnchor(rows, head)


def new_salt() -> bytes:
    return os.urandom(16)
