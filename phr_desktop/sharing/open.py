"""Opening a share, strictly: one format, checked in an order that shows nothing unverified.

1. size cap on the file; the JWE header must be exactly `dir` + `A256GCM` (+ `zip: DEF`);
2. decrypt (AES-GCM: a wrong key, a wrong passcode or any changed byte fails here);
   inflation is capped while decompressing;
3. the JWS header must be exactly `ES256` with an EC P-256 public `jwk` whose RFC 7638
   thumbprint is the `kid`; the signature is verified before the payload is parsed as JSON;
4. with a key that names its signer (share_key.py), the signer's thumbprint must start with
   the bits the key carries: a share re-signed by someone else who had the key is refused;
5. `iat`, `nbf` and `exp` must be plausible dates, and `nbf`/`exp` are checked against the
   injected clock.

Everything happens in memory; nothing is written to disk.
"""

from __future__ import annotations

import binascii
import zlib
from dataclasses import dataclass
from typing import Any

import orjson
from joserfc import jwe, jws
from joserfc.errors import JoseError
from joserfc.jwa import JWEZipModel
from joserfc.jwk import ECKey, OctKey
from joserfc.jws import JWSRegistry

from phr_desktop.sharing.bundle import (
    JWE_EXTRA_HEADERS,
    KDF_BOUNDS,
    PASSCODE_HEADER,
    b64url,
    b64url_decode,
    content_key,
)
from phr_desktop.sharing.errors import ShareExpired, ShareRejected, SignerMismatch, WrongShareKey
from phr_desktop.sharing.keys import fingerprint
from phr_desktop.sharing.share_key import ShareKey
from phr_desktop.vault.raw_json import load_raw

MAX_FILE_BYTES = 50 * 1024 * 1024
MAX_INFLATED_BYTES = 100 * 1024 * 1024
NBF_LEEWAY_SECONDS = 300  # the clinician's clock may be a little behind the patient's
# NumericDate claims must fall between 1970 and the end of year 9999: anything else is not a
# date any calendar can show (and would overflow Python's datetime).
LATEST_NUMERIC_DATE = 253402300799


@dataclass(frozen=True)
class Limits:
    max_file_bytes: int = MAX_FILE_BYTES
    max_inflated_bytes: int = MAX_INFLATED_BYTES


DEFAULT_LIMITS = Limits()


@dataclass(frozen=True)
class OpenedShare:
    """Verified content: the claims (without the bundle), the bundle, and who signed."""

    claims: dict[str, Any]
    bundle: dict[str, Any]
    fingerprint: str
    public_jwk: dict[str, Any]
    payload: bytes  # the verified claims as signed, for a reader that keeps number literals
    signer_bound: bool = False  # the share key named this signer, and it matched


_JWE_KEYS = {"alg", "enc", "zip", "cty", PASSCODE_HEADER}
_JWS_KEYS = {"alg", "typ", "kid", "jwk"}


def _header(segment: bytes, limit: int) -> dict[str, Any]:
    if len(segment) > limit:
        raise ShareRejected("The file's header is too large; this is not a phr-desktop share.")
    try:
        header = orjson.loads(b64url_decode(segment.decode("ascii")))
    except (ValueError, UnicodeDecodeError, binascii.Error, orjson.JSONDecodeError):
        raise ShareRejected("The file's header is unreadable; this is not a share file.") from None
    if not isinstance(header, dict):
        raise ShareRejected("The file's header is unreadable; this is not a share file.")
    return header


def _check_jwe_header(header: dict[str, Any]) -> dict[str, Any] | None:
    if header.get("alg") != "dir" or header.get("enc") != "A256GCM":
        raise ShareRejected(
            f"The file uses encryption {header.get('alg')!r}/{header.get('enc')!r}; only "
            "'dir' with 'A256GCM' is accepted."
        )
    if header.get("zip", "DEF") != "DEF":
        raise ShareRejected(f"Unknown compression {header.get('zip')!r}; only DEF is accepted.")
    if not set(header) <= _JWE_KEYS:
        unknown = ", ".join(sorted(set(header) - _JWE_KEYS))
        raise ShareRejected(f"The file's header has parameters we do not accept: {unknown}.")
    params = header.get(PASSCODE_HEADER)
    if params is None:
        return None
    ok = (
        isinstance(params, dict)
        and set(params) == {"kdf", "salt", "t", "m", "p"}
        and params["kdf"] == "argon2id"
        and isinstance(params["salt"], str)
        and all(
            isinstance(params[k], int) and lo <= params[k] <= hi
            for k, (lo, hi) in KDF_BOUNDS.items()
        )
    )
    if not ok:
        raise ShareRejected("The file's passcode parameters are not ones we accept.")
    return dict(params)


class _CappedDeflate(JWEZipModel):
    """DEFLATE that stops at the cap instead of inflating a bomb into memory."""

    name = "DEF"
    description = "DEFLATE, inflation capped"

    def __init__(self, cap: int) -> None:
        self.cap = cap

    def compress(self, s: bytes) -> bytes:  # pragma: no cover - the viewer never compresses
        raise NotImplementedError

    def decompress(self, s: bytes) -> bytes:
        inflater = zlib.decompressobj(-zlib.MAX_WBITS)
        try:
            value = inflater.decompress(s, self.cap + 1)
        except zlib.error:
            raise ShareRejected("The file's compressed content is damaged.") from None
        if len(value) > self.cap:
            raise ShareRejected(
                f"The file inflates to more than the {self.cap:,}-byte cap; refused."
            )
        return bytes(value)


class _ShareJWERegistry(jwe.JWERegistry):
    def __init__(self, limits: Limits) -> None:
        super().__init__(header_registry=JWE_EXTRA_HEADERS, algorithms=["dir", "A256GCM", "DEF"])
        self.max_ciphertext_length = limits.max_file_bytes
        self._zip = _CappedDeflate(limits.max_inflated_bytes)

    def get_zip(self, name: str) -> Any:
        if name != "DEF":
            raise ShareRejected(f"Unknown compression {name!r}; only DEF is accepted.")
        return self._zip


def _check_canonical(parts: list[bytes]) -> None:
    """Base64url must be canonical, so that every changed byte of the file is refused."""
    try:
        for part in parts:
            if b64url(b64url_decode(part.decode("ascii"))).encode("ascii") != part:
                raise ValueError
    except (ValueError, UnicodeDecodeError, binascii.Error):
        raise WrongShareKey("The file was changed after it was made (bad encoding).") from None


def _decrypt(data: bytes, key: bytes, passcode: str | None, limits: Limits) -> bytes:
    parts = data.split(b".")
    if len(parts) != 5:
        raise ShareRejected("This is not a share file (not a JWE compact serialisation).")
    params = _check_jwe_header(_header(parts[0], 1024))
    _check_canonical(parts)
    if parts[1]:
        raise ShareRejected("The file carries an encrypted key; with 'dir' it must be empty.")
    cek = content_key(key, passcode, params)
    try:
        opened = jwe.decrypt_compact(
            data, OctKey.import_key(cek), registry=_ShareJWERegistry(limits)
        )
    except ShareRejected:
        raise
    except (JoseError, ValueError) as exc:
        raise WrongShareKey(
            "This key"
            + (" and passcode do" if params else " does")
            + " not open the file, or the file was changed after it was made."
        ) from exc
    if opened.plaintext is None:
        raise WrongShareKey("The file is empty after decryption.")
    return bytes(opened.plaintext)


def _verify(token: bytes, limits: Limits) -> tuple[bytes, str, dict[str, Any]]:
    parts = token.split(b".")
    if len(parts) != 3:
        raise ShareRejected("The decrypted content is not a signed JWS compact serialisation.")
    _check_canonical(parts)
    header = _header(parts[0], 2048)
    if header.get("alg") != "ES256":
        raise ShareRejected(
            f"The content is signed with {header.get('alg')!r}; only ES256 is accepted."
        )
    if not set(header) <= _JWS_KEYS or "crit" in header:
        unknown = ", ".join(sorted(set(header) - _JWS_KEYS))
        raise ShareRejected(f"The signature header has parameters we do not accept: {unknown}.")
    jwk = header.get("jwk")
    if (
        not isinstance(jwk, dict)
        or jwk.get("kty") != "EC"
        or jwk.get("crv") != "P-256"
        or "d" in jwk
    ):
        raise ShareRejected("The signer's key must be a public EC P-256 key in the header.")
    try:
        public = ECKey.import_key({k: jwk[k] for k in ("kty", "crv", "x", "y")})
    except (JoseError, ValueError, KeyError):
        raise ShareRejected("The signer's key in the header is not a valid P-256 key.") from None
    thumb = fingerprint(public)
    if header.get("kid") != thumb:
        raise ShareRejected("The signature's key id is not the thumbprint of its key.")
    registry = JWSRegistry(algorithms=["ES256"])
    registry.max_header_length = 2048
    registry.max_payload_length = limits.max_inflated_bytes * 4 // 3 + 4
    try:
        verified = jws.deserialize_compact(token, public, registry=registry)
    except (JoseError, ValueError) as exc:
        raise ShareRejected("The signature does not match the content; refused.") from exc
    return bytes(verified.payload), thumb, {k: jwk[k] for k in ("kty", "crv", "x", "y")}


def _check_claims(claims: Any, now: int) -> tuple[dict[str, Any], dict[str, Any]]:
    if not isinstance(claims, dict):
        raise ShareRejected("The signed content is not a share.")
    for name in ("iat", "nbf", "exp", "record_count"):
        value = claims.get(name)
        if not isinstance(value, int) or isinstance(value, bool):
            raise ShareRejected(f"The signed content lacks a valid {name!r} claim.")
    for name in ("iat", "nbf", "exp"):
        if not 0 <= claims[name] <= LATEST_NUMERIC_DATE:
            raise ShareRejected(f"The share's {name!r} time is not a real date; refused.")
    bundle = claims.get("bundle")
    if not isinstance(bundle, dict) or bundle.get("resourceType") != "Bundle":
        raise ShareRejected("The signed content holds no FHIR Bundle.")
    if now + NBF_LEEWAY_SECONDS < claims["nbf"]:
        raise ShareExpired("This share is not valid yet (its start time is in the future).")
    if now >= claims["exp"]:
        raise ShareExpired("This share has expired; ask the patient for a new one.")
    return {k: v for k, v in claims.items() if k != "bundle"}, bundle


def open_share_bytes(
    data: bytes,
    key: bytes | ShareKey,
    *,
    now: int,
    passcode: str | None = None,
    limits: Limits | None = None,
) -> OpenedShare:
    """Decrypt, verify, check the signer and the validity window; raise a ShareError and show
    nothing else. `key` is the share key as handed out, or the raw 32-byte JWE key (which,
    like a key of the old format, names no signer)."""
    limits = limits or DEFAULT_LIMITS
    share_key = key if isinstance(key, ShareKey) else ShareKey(bytes(key), None)
    if len(data) > limits.max_file_bytes:
        raise ShareRejected(
            f"The file is larger than the {limits.max_file_bytes:,}-byte cap; refused."
        )
    token = _decrypt(data, share_key.content_key(), passcode, limits)
    payload, thumb, jwk = _verify(token, limits)
    if not share_key.signed_by(thumb):
        raise SignerMismatch(
            "This file was signed by a different key than the one the patient's share key "
            "names: someone re-signed it after it was made. Do not rely on it; ask the patient "
            "for the file again."
        )
    try:
        claims = load_raw(payload)  # a number no float holds ("1e400") is kept, not refused
    except ValueError:  # orjson's and json's decode errors both are
        raise ShareRejected("The signed content is not JSON.") from None
    meta, bundle = _check_claims(claims, now)
    return OpenedShare(meta, bundle, thumb, jwk, payload, share_key.binds_signer)
