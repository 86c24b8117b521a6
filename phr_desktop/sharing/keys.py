"""The profile's signing key for shares: one ES256 (P-256) key, kept in the vault.

The private JWK lives in the `share_keys` table of the encrypted vault. Its public half travels
in every share's JWS header; the RFC 7638 thumbprint is the `kid` and the fingerprint a
clinician compares with the printed hand-out.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import orjson
from joserfc.jwk import ECKey

from phr_desktop.vault.database import Connection


def fingerprint(key: ECKey) -> str:
    """The RFC 7638 SHA-256 thumbprint, base64url (43 characters)."""
    return str(key.thumbprint())


def display_fingerprint(thumbprint: str) -> str:
    """The thumbprint in groups of four, easier to read aloud and compare on paper."""
    return " ".join(thumbprint[i : i + 4] for i in range(0, len(thumbprint), 4))


def public_jwk(key: ECKey) -> dict[str, Any]:
    return {k: v for k, v in key.as_dict(private=False).items() if k in ("kty", "crv", "x", "y")}


def signing_key(conn: Connection) -> ECKey:
    """The profile's signing key, made on first use (call inside the caller's transaction)."""
    row = conn.execute("SELECT private_jwk FROM share_keys ORDER BY created_at LIMIT 1").fetchone()
    if row is not None:
        return ECKey.import_key(orjson.loads(row[0]))
    key = ECKey.generate_key("P-256", private=True)
    conn.execute(
        "INSERT INTO share_keys (kid, private_jwk, created_at) VALUES (?, ?, ?)",
        (
            fingerprint(key),
            orjson.dumps(key.as_dict(private=True)).decode(),
            datetime.now(UTC).isoformat(timespec="seconds"),
        ),
    )
    return key
