"""Shares made to order for the browser tests: any claims, any signer, any key, written as
the `.html` the app makes (html_share.py), beside the `.phrshare` bytes."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson
from joserfc.jwk import ECKey

from phr_desktop.sharing.bundle import b64url, seal
from phr_desktop.sharing.html_share import html_share_bytes
from phr_desktop.sharing.keys import fingerprint
from phr_desktop.sharing.share_key import ShareKey, new_share_key


@dataclass(frozen=True)
class MadeShare:
    html: Path
    sealed: bytes
    key: ShareKey
    key_text: str


def new_signer() -> ECKey:
    return ECKey.generate_key("P-256")


def claims_for(now: int, record_count: int, **overrides: Any) -> dict[str, Any]:
    claims: dict[str, Any] = {
        "jti": "test-share",
        "iat": now,
        "nbf": now,
        "exp": now + 3600,
        "recipient": "Dr Test",
        "record_count": record_count,
        "patient_name": "Test Patient",
    }
    claims.update(overrides)
    return claims


def make_html_share(
    folder: Path,
    name: str,
    claims: dict[str, Any],
    bundle: dict[str, Any],
    *,
    signer: ECKey | None = None,
    key: ShareKey | None = None,
    passcode: str | None = None,
    browser: bool = True,
) -> MadeShare:
    signer = signer or new_signer()
    key = key or new_share_key(fingerprint(signer))
    sealed = seal(
        signer, claims, orjson.dumps(bundle), key.content_key(), passcode, browser=browser
    )
    html = folder / f"{name}.html"
    html.write_bytes(html_share_bytes(sealed))
    text = key.text() if key.signer_prefix is not None else b64url(key.secret)
    return MadeShare(html, sealed, key, text)


def observation_bundle(count: int) -> dict[str, Any]:
    """A Patient and `count` lab results over ~14 years, AAT levels and FEV1 among them."""
    entries: list[dict[str, Any]] = [
        {"fullUrl": "urn:uuid:p", "resource": {"resourceType": "Patient", "id": "p"}}
    ]
    tests = (
        ("1825-9", "Alpha 1 antitrypsin", "mg/dL", 40.0),
        ("20150-9", "FEV1", "L", 2.5),
        ("2345-7", "Glucose", "mg/dL", 90.0),
        ("718-7", "Hemoglobin", "g/dL", 14.0),
    )
    for i in range(count):
        code, title, unit, base = tests[i % len(tests)]
        day = 1 + (i * 37) % 28
        month = 1 + (i * 7) % 12
        year = 2011 + (i * 3) % 14
        entries.append(
            {
                "fullUrl": f"urn:uuid:o{i}",
                "resource": {
                    "resourceType": "Observation",
                    "id": f"o{i}",
                    "status": "final",
                    "category": [{"coding": [{"code": "laboratory"}]}],
                    "code": {
                        "coding": [{"system": "http://loinc.org", "code": code}],
                        "text": title,
                    },
                    "effectiveDateTime": f"{year}-{month:02d}-{day:02d}T09:00:00Z",
                    "valueQuantity": {"value": round(base - (i % 9) * 0.01, 2), "unit": unit},
                },
            }
        )
    return {"resourceType": "Bundle", "type": "collection", "entry": entries}
