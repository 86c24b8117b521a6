"""Sealing a share: FHIR Bundle → signed JWT (JWS ES256) → JWE compact `dir` + `A256GCM`.

The format, in full (README "Sharing records"):

* Inner, a JWT signed ES256 by the profile's key. Protected header
  `{"alg": "ES256", "typ": "JWT", "kid": <RFC 7638 thumbprint>, "jwk": <public P-256 key>}`.
  Claims: `jti` (share id), `iat`, `nbf`, `exp` (NumericDate seconds), `recipient` (the label
  the patient typed), `record_count`, `patient_name`, and `bundle`: the FHIR `collection`
  Bundle itself, as JSON (stored resources spliced in byte for byte).
* Outer, a JWE compact serialisation, `{"alg": "dir", "enc": "A256GCM", "zip": "DEF",
  "cty": "JWT"}` — the SMART Health Links file encryption — with a fresh random 32-byte key.
  That key is derived from the key handed to the clinician (share_key.py: a 128-bit secret and
  72 bits of the signer's thumbprint, typed as 10 checked groups); it is never in the file.
* With a passcode, the content key is `HKDF-SHA256(key ‖ Argon2id(passcode, salt))`, and the
  JWE header carries the Argon2id parameters and salt as `phr_passcode` (a private header
  parameter). Both the key and the passcode are then needed; the file with the key alone
  cannot be opened, nor the file with the passcode alone.
* A share that also has a browser page (html_share.py) stretches its passcode with
  PBKDF2-HMAC-SHA256 instead (`{"kdf": "pbkdf2-sha256", "salt", "i"}`, 600,000 iterations):
  browsers' WebCrypto has PBKDF2 but no Argon2id. PBKDF2 is cheaper to attack with GPUs, which
  matters only to someone who already has the 128-bit key.
"""

from __future__ import annotations

import base64
import hashlib
import secrets
import unicodedata
from dataclasses import dataclass
from typing import Any

import orjson
from argon2.low_level import Type, hash_secret_raw
from joserfc import jwe, jws
from joserfc.jwk import ECKey, OctKey
from joserfc.registry import HeaderParameter

from phr_desktop.sharing.errors import ShareError, ShareRejected
from phr_desktop.sharing.keys import fingerprint, public_jwk
from phr_desktop.vault.keys import hkdf

FILE_SUFFIX = ".phrshare"
KEY_BYTES = 32
PASSCODE_HEADER = "phr_passcode"
PASSCODE_INFO = b"phr-desktop share passcode v1"
JWE_HEADER = {"alg": "dir", "enc": "A256GCM", "zip": "DEF", "cty": "JWT"}


@dataclass(frozen=True)
class PasscodeKdf:
    """Argon2id parameters for a passcode; the viewer accepts only values within bounds."""

    time_cost: int = 3
    memory_kib: int = 65536
    parallelism: int = 1


PASSCODE_KDF = PasscodeKdf()
KDF_BOUNDS = {"t": (1, 10), "m": (8192, 262144), "p": (1, 4)}
PASSCODE_SALT_BYTES = (8, 64)  # Argon2 needs 8 bytes at least; we write 16
ARGON2ID = "argon2id"
PBKDF2 = "pbkdf2-sha256"
# OWASP's 2023 figure for PBKDF2-HMAC-SHA256; the viewers accept a bounded range, so that a
# file cannot make them work for minutes.
PBKDF2_ITERATIONS = 600_000
PBKDF2_BOUNDS = (100_000, 5_000_000)
PASSCODE_FIELDS = {ARGON2ID: {"kdf", "salt", "t", "m", "p"}, PBKDF2: {"kdf", "salt", "i"}}


def _is_passcode_params(value: Any) -> None:
    kdf = value.get("kdf") if isinstance(value, dict) else None
    if not isinstance(kdf, str) or set(value) != PASSCODE_FIELDS.get(kdf, set()):
        raise ValueError("bad phr_passcode header")


JWE_EXTRA_HEADERS = {PASSCODE_HEADER: HeaderParameter("phr passcode KDF", _is_passcode_params)}


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def b64url_decode(text: str) -> bytes:
    if not isinstance(text, str) or any(c in text for c in "=+/"):
        raise ValueError("not base64url")
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def normalise_passcode(passcode: str) -> bytes:
    return unicodedata.normalize("NFKC", passcode.strip()).encode("utf-8")


def passcode_params(kdf: PasscodeKdf = PASSCODE_KDF) -> dict[str, Any]:
    return {
        "kdf": ARGON2ID,
        "salt": b64url(secrets.token_bytes(16)),
        "t": kdf.time_cost,
        "m": kdf.memory_kib,
        "p": kdf.parallelism,
    }


def browser_passcode_params() -> dict[str, Any]:
    """PBKDF2 parameters, for a share that must also open in a browser."""
    return {"kdf": PBKDF2, "salt": b64url(secrets.token_bytes(16)), "i": PBKDF2_ITERATIONS}


def content_key(key: bytes, passcode: str | None, params: dict[str, Any] | None) -> bytes:
    """The JWE `dir` key: the share key itself, or mixed with the passcode's Argon2id (or,
    for a share with a browser page, PBKDF2) hash."""
    if params is None:
        return key
    if passcode is None:
        raise ShareError("This share is protected by a passcode; ask the patient for it.")
    try:
        salt = b64url_decode(params["salt"])
    except (ValueError, TypeError):
        salt = b""
    low, high = PASSCODE_SALT_BYTES
    if not low <= len(salt) <= high:
        raise ShareRejected("The file's passcode salt is not one we accept; this file is damaged.")
    if params["kdf"] == PBKDF2:
        stretched = hashlib.pbkdf2_hmac(
            "sha256", normalise_passcode(passcode), salt, int(params["i"]), 32
        )
        return hkdf(key + stretched, PASSCODE_INFO)
    stretched = hash_secret_raw(
        normalise_passcode(passcode),
        salt,
        time_cost=int(params["t"]),
        memory_cost=int(params["m"]),
        parallelism=int(params["p"]),
        hash_len=32,
        type=Type.ID,
    )
    return hkdf(key + stretched, PASSCODE_INFO)


def seal(
    signing_key: ECKey,
    claims: dict[str, Any],
    bundle_json: bytes,
    key: bytes,
    passcode: str | None = None,
    *,
    browser: bool = False,
) -> bytes:
    """The `.phrshare` file's bytes: the JWE compact serialisation (ASCII). `browser=True`
    stretches a passcode with PBKDF2, which the browser page can compute."""
    payload = orjson.dumps({**claims, "bundle": orjson.Fragment(bundle_json)})
    header = {
        "alg": "ES256",
        "typ": "JWT",
        "kid": fingerprint(signing_key),
        "jwk": public_jwk(signing_key),
    }
    signed = jws.serialize_compact(header, payload, signing_key, algorithms=["ES256"])
    protected: dict[str, Any] = dict(JWE_HEADER)
    params = None
    if passcode:
        params = browser_passcode_params() if browser else passcode_params()
        protected[PASSCODE_HEADER] = params
    registry = jwe.JWERegistry(
        header_registry=JWE_EXTRA_HEADERS, algorithms=["dir", "A256GCM", "DEF"]
    )
    cek = OctKey.import_key(content_key(key, passcode, params))
    token = jwe.encrypt_compact(protected, signed.encode("ascii"), cek, registry=registry)
    return token.encode("ascii")
