"""Sharing: round trip, an independent JOSE library (jwcrypto), and every refusal."""

from __future__ import annotations

import base64
import json
import time
import zlib
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import orjson
import pytest
from joserfc.jwk import ECKey
from jwcrypto import jwe as cjwe
from jwcrypto import jwk as cjwk
from jwcrypto import jws as cjws

from phr_desktop.services.errors import ServiceError
from phr_desktop.services.profiles import Profiles
from phr_desktop.services.session import Session
from phr_desktop.services.share_history import list_shares, reveal_key, revoke_share
from phr_desktop.services.share_opening import open_share
from phr_desktop.services.sharing import PRESETS, ShareSelection, create_share, parse_expiry
from phr_desktop.sharing.bundle import b64url, content_key, seal
from phr_desktop.sharing.errors import ShareError, ShareExpired, ShareRejected, WrongShareKey
from phr_desktop.sharing.open import Limits, open_share_bytes
from phr_desktop.sharing.share_key import ShareKey, parse_share_key
from phr_desktop.vault.keys import KdfParams
from tests.conftest import DEMO_DIR, PASSPHRASE

NOW = datetime.now(UTC).replace(microsecond=0)


@pytest.fixture(scope="module")
def demo_session(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Session]:
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr("phr_desktop.vault.vault.calibrate_kdf", KdfParams.minimum)
        profiles = Profiles(tmp_path_factory.mktemp("share-data"))
        session, _recovery = profiles.create("pat", PASSPHRASE)
        with session:
            session.import_paths(sorted(DEMO_DIR.glob("*.json")))
            yield session


@pytest.fixture(scope="module")
def share(demo_session: Session, tmp_path_factory: pytest.TempPathFactory) -> Any:
    out = tmp_path_factory.mktemp("out") / "for-dr-lung.phrshare"
    return create_share(
        demo_session, out, PRESETS["pulmonologist"], "Dr Lung, pulmonology", now=NOW
    )


def _jwe_parts(data: bytes) -> list[bytes]:
    return data.split(b".")


# --- round trip -------------------------------------------------------------------------------


def test_round_trip(share: Any, demo_session: Session) -> None:
    view = open_share(share.file, share.key, now=NOW + timedelta(days=1))
    assert view.record_count == share.record_count > 50
    assert view.recipient == "Dr Lung, pulmonology"
    assert view.patient_name and view.patient_name in view.banner()
    assert view.signer_fingerprint == share.fingerprint
    assert view.expires_at == NOW + timedelta(days=30)
    assert view.not_before == view.issued_at == NOW
    assert view.bundle["resourceType"] == "Bundle" and view.bundle["type"] == "collection"
    kinds = {r.kind.value for r in view.records}
    assert {"problem", "medication", "lab_result"} <= kinds
    # the key also opens typed in small letters, with spaces instead of dashes
    typed = share.key.lower().replace("-", " ")
    assert open_share(share.file, typed, now=NOW).record_count == view.record_count


def test_selection_by_kind_date_tag_and_ids(demo_session: Session, tmp_path: Path) -> None:
    by_kind = create_share(
        demo_session, tmp_path / "a", ShareSelection(kinds=("allergy",)), "x", now=NOW
    )
    assert by_kind.file.suffix == ".phrshare"
    view = open_share(by_kind.file, by_kind.key, now=NOW)
    assert {r.kind.value for r in view.records} <= {"allergy", "patient"}
    tagged = create_share(demo_session, tmp_path / "b", ShareSelection(tag="aatd"), "x", now=NOW)
    assert 0 < tagged.record_count < by_kind.record_count + 1000
    ids = demo_session.record_ids()[:3]
    picked = create_share(
        demo_session, tmp_path / "c", ShareSelection(record_ids=tuple(ids)), "x", now=NOW
    )
    assert picked.record_count <= 3
    with pytest.raises(ServiceError, match="No records"):
        create_share(demo_session, tmp_path / "d", ShareSelection(since="2999"), "x", now=NOW)


def test_expiry_parsing() -> None:
    assert parse_expiry("30d", NOW) == NOW + timedelta(days=30)
    assert parse_expiry("12h", NOW) == NOW + timedelta(hours=12)
    assert parse_expiry("45s", NOW) == NOW + timedelta(seconds=45)
    day = (NOW + timedelta(days=3)).date()
    assert parse_expiry(day.isoformat(), NOW).date() == day
    for bad in ("soon", "0s", "2000-01-01", "900d"):
        with pytest.raises(ServiceError):
            parse_expiry(bad, NOW)


# --- a second, independent JOSE library -------------------------------------------------------


def test_jwcrypto_decrypts_and_verifies(share: Any) -> None:
    data = share.file.read_bytes()
    token = cjwe.JWE()
    token.deserialize(data.decode("ascii"))
    assert token.jose_header["alg"] == "dir" and token.jose_header["enc"] == "A256GCM"
    key = cjwk.JWK(**share.key_jwk)  # as `phr share create --json` gives it
    token.allowed_algs = ["dir", "A256GCM"]
    token.decrypt(key)
    signed = cjws.JWS()
    signed.deserialize(token.payload.decode("ascii"))
    header = signed.jose_header
    assert header["alg"] == "ES256"
    public = cjwk.JWK(**header["jwk"])
    assert not public.has_private
    assert header["kid"] == public.thumbprint() == share.fingerprint  # RFC 7638, SHA-256
    signed.verify(public, alg="ES256")
    claims = json.loads(signed.payload)
    assert claims["exp"] - claims["iat"] == 30 * 86400 and claims["nbf"] == claims["iat"]
    assert claims["recipient"] == "Dr Lung, pulmonology"
    assert claims["record_count"] == share.record_count
    assert claims["bundle"]["resourceType"] == "Bundle"


def test_jwcrypto_made_share_opens_in_our_viewer() -> None:
    """The other direction: a share built entirely with jwcrypto is accepted by our viewer."""
    signer = cjwk.JWK.generate(kty="EC", crv="P-256")
    public = json.loads(signer.export_public())
    now = int(time.time())
    claims = _claims(now)
    jws_token = cjws.JWS(json.dumps(claims).encode())
    jws_token.add_signature(
        signer, "ES256",
        protected={"alg": "ES256", "typ": "JWT", "kid": signer.thumbprint(), "jwk": public},
    )  # fmt: skip
    key = bytes(range(32))
    outer = cjwe.JWE(
        jws_token.serialize(compact=True).encode(),
        protected={"alg": "dir", "enc": "A256GCM", "zip": "DEF", "cty": "JWT"},
    )
    outer.add_recipient(cjwk.JWK(kty="oct", k=b64url(key)))
    opened = open_share_bytes(outer.serialize(compact=True).encode(), key, now=now)
    assert opened.fingerprint == signer.thumbprint() and opened.claims["recipient"] == "r"


# --- the key never in the file; passcode ---------------------------------------------------------


def test_key_never_appears_in_the_file(share: Any) -> None:
    data = share.file.read_bytes()
    key = parse_share_key(share.key)
    for raw in (key.secret, key.content_key()):
        for form in (raw, b64url(raw).encode(), base64.b64encode(raw), raw.hex().encode()):
            assert form not in data
    assert share.key.encode() not in data and share.key.replace("-", "").encode() not in data
    assert b"Dr Lung" not in data and b"resourceType" not in data  # encrypted


def test_passcode_share_needs_the_passcode(demo_session: Session, tmp_path: Path) -> None:
    made = create_share(
        demo_session, tmp_path / "p.phrshare", ShareSelection(kinds=("allergy",)), "Dr P",
        passcode="tulip 42", now=NOW,
    )  # fmt: skip
    assert made.passcode
    assert open_share(made.file, made.key, passcode=" tulip 42 ", now=NOW).recipient == "Dr P"
    with pytest.raises(ShareError, match="passcode"):
        open_share(made.file, made.key, now=NOW)
    with pytest.raises(WrongShareKey):
        open_share(made.file, made.key, passcode="tulip 43", now=NOW)
    # the key alone is not the content key, for jwcrypto either
    token = cjwe.JWE()
    token.deserialize(made.file.read_text())
    with pytest.raises(cjwe.InvalidJWEData):
        token.decrypt(cjwk.JWK(kty="oct", k=b64url(parse_share_key(made.key).content_key())))
    assert made.key_jwk is None  # no JWK opens a passcode share
    header = token.jose_header["phr_passcode"]
    cek = content_key(parse_share_key(made.key).content_key(), "tulip 42", header)
    token.decrypt(cjwk.JWK(kty="oct", k=b64url(cek)))
    assert token.payload.count(b".") == 2
    with pytest.raises(ServiceError, match="at least 4"):
        create_share(demo_session, tmp_path / "q", ShareSelection(), "x", passcode="ab", now=NOW)


# --- refusals ----------------------------------------------------------------------------------


def test_wrong_key_is_refused(share: Any) -> None:
    other = ShareKey(bytes(16), parse_share_key(share.key).signer_prefix).text()
    with pytest.raises(WrongShareKey, match="does not open"):
        open_share(share.file, other, now=NOW)
    with pytest.raises(ShareError, match="not a share key"):
        open_share(share.file, "not-a-key", now=NOW)


def test_every_changed_byte_is_refused(share: Any) -> None:
    data = share.file.read_bytes()
    key = parse_share_key(share.key)
    positions = {0, 5, len(data) - 1, len(data) - 2, *range(0, len(data), max(1, len(data) // 60))}
    dots = [i for i, b in enumerate(data) if b == ord(".")]
    positions |= {d - 1 for d in dots} | {d + 1 for d in dots}
    for pos in sorted(positions):
        for replacement in {ord("A"), ord("B"), ord("."), ord("=")} - {data[pos]}:
            changed = data[:pos] + bytes([replacement]) + data[pos + 1 :]
            with pytest.raises(ShareError):
                open_share_bytes(changed, key, now=int(NOW.timestamp()))
    with pytest.raises(ShareError):
        open_share_bytes(data + b"\n", key, now=int(NOW.timestamp()))
    with pytest.raises(ShareError):
        open_share_bytes(data[:-1], key, now=int(NOW.timestamp()))


def test_expired_and_not_yet_valid_are_refused(share: Any) -> None:
    with pytest.raises(ShareExpired, match="expired"):
        open_share(share.file, share.key, now=NOW + timedelta(days=30))
    with pytest.raises(ShareExpired, match="not valid yet"):
        open_share(share.file, share.key, now=NOW - timedelta(hours=1))
    # a few minutes of clock difference is tolerated
    assert open_share(share.file, share.key, now=NOW - timedelta(minutes=2)).record_count


def _craft(inner_header: dict[str, Any], claims: dict[str, Any], key: bytes, sig: bytes) -> bytes:
    parts = [b64url(orjson.dumps(inner_header)), b64url(orjson.dumps(claims))]
    inner = ".".join([*parts, b64url(sig)]).encode()
    outer = cjwe.JWE(inner, protected={"alg": "dir", "enc": "A256GCM", "cty": "JWT"})
    outer.add_recipient(cjwk.JWK(kty="oct", k=b64url(key)))
    return outer.serialize(compact=True).encode()


def _claims(now: int) -> dict[str, Any]:
    bundle = {"resourceType": "Bundle", "type": "collection"}
    return {"iat": now, "nbf": now, "exp": now + 600, "recipient": "r", "record_count": 0,
            "patient_name": "P", "bundle": bundle}  # fmt: skip


@pytest.mark.parametrize("alg", ["none", "HS256", "RS256", "PS256", "ES384", "EdDSA"])
def test_unknown_signature_algorithms_are_refused(alg: str) -> None:
    now, key = int(time.time()), bytes(range(32))
    signer = ECKey.generate_key("P-256", private=True)
    jwk = {k: v for k, v in signer.as_dict(private=False).items() if k != "kid"}
    header = {"alg": alg, "typ": "JWT", "kid": signer.thumbprint(), "jwk": jwk}
    if alg == "HS256":  # the classic confusion: HMAC keyed with the public key's bytes
        import hashlib
        import hmac

        signing_input = (
            b64url(orjson.dumps(header)) + "." + b64url(orjson.dumps(_claims(now)))
        ).encode()
        sig = hmac.new(orjson.dumps(jwk), signing_input, hashlib.sha256).digest()
    else:
        sig = b"" if alg == "none" else b"x" * 64
    with pytest.raises(ShareRejected, match="only ES256"):
        open_share_bytes(_craft(header, _claims(now), key, sig), key, now=now)


def test_rsa_signed_share_with_jwcrypto_is_refused() -> None:
    now, key = int(time.time()), bytes(range(32))
    rsa = cjwk.JWK.generate(kty="RSA", size=2048)
    token = cjws.JWS(orjson.dumps(_claims(now)))
    token.add_signature(
        rsa, "RS256", protected={"alg": "RS256", "jwk": json.loads(rsa.export_public())}
    )
    outer = cjwe.JWE(
        token.serialize(compact=True).encode(), protected={"alg": "dir", "enc": "A256GCM"}
    )
    outer.add_recipient(cjwk.JWK(kty="oct", k=b64url(key)))
    with pytest.raises(ShareRejected, match="only ES256"):
        open_share_bytes(outer.serialize(compact=True).encode(), key, now=now)


@pytest.mark.parametrize(
    ("alg", "enc"),
    [("A256KW", "A256GCM"), ("dir", "A128CBC-HS256"), ("RSA-OAEP", "A256GCM"), ("dir", "A128GCM")],
)
def test_unknown_encryption_algorithms_are_refused(alg: str, enc: str) -> None:
    key = cjwk.JWK.generate(kty="RSA", size=2048) if alg.startswith("RSA") else (
        cjwk.JWK(kty="oct", k=b64url(bytes(range(16 if enc == "A128GCM" else 32))))
    )  # fmt: skip
    outer = cjwe.JWE(b"a.b.c", protected={"alg": alg, "enc": enc})
    outer.add_recipient(key)
    with pytest.raises(ShareRejected, match="only 'dir' with 'A256GCM'"):
        open_share_bytes(outer.serialize(compact=True).encode(), bytes(range(32)), now=0)


def test_signature_by_another_key_than_the_header_says_is_refused(share: Any) -> None:
    now, key = int(time.time()), bytes(range(32))
    real = ECKey.generate_key("P-256", private=True)
    data = seal(real, _claims(now), b'{"resourceType":"Bundle"}', key)
    assert open_share_bytes(data, key, now=now).fingerprint == real.thumbprint()
    # swap the header's key for another one: the signature no longer verifies
    other = ECKey.generate_key("P-256", private=True)
    inner = open_share_bytes.__globals__["_decrypt"](data, key, None, Limits())
    h, p, s = inner.split(b".")
    header = orjson.loads(base64.urlsafe_b64decode(h + b"=" * (-len(h) % 4)))
    header["jwk"] = {k: v for k, v in other.as_dict(private=False).items() if k != "kid"}
    header["kid"] = other.thumbprint()
    forged = cjwe.JWE(b".".join([b64url(orjson.dumps(header)).encode(), p, s]),
                      protected={"alg": "dir", "enc": "A256GCM"})  # fmt: skip
    forged.add_recipient(cjwk.JWK(kty="oct", k=b64url(key)))
    with pytest.raises(ShareRejected, match="signature does not match"):
        open_share_bytes(forged.serialize(compact=True).encode(), key, now=now)


def test_inflation_cap() -> None:
    now, key = int(time.time()), bytes(range(32))
    signer = ECKey.generate_key("P-256", private=True)
    bundle = orjson.dumps({"resourceType": "Bundle", "pad": "0" * 3_000_000})
    data = seal(signer, _claims(now), bundle, key)
    assert len(data) < 20_000  # compresses ~1000:1
    with pytest.raises(ShareRejected, match="inflates to more than"):
        open_share_bytes(data, key, now=now, limits=Limits(max_inflated_bytes=1024 * 1024))
    assert open_share_bytes(data, key, now=now).bundle["resourceType"] == "Bundle"
    # a raw deflate bomb (not even a JWS inside) stops at the cap too
    bomb = cjwe.JWE(b"\0" * 5_000_000, protected={"alg": "dir", "enc": "A256GCM", "zip": "DEF"})
    bomb.add_recipient(cjwk.JWK(kty="oct", k=b64url(key)))
    with pytest.raises(ShareRejected, match="inflates"):
        open_share_bytes(
            bomb.serialize(compact=True).encode(), key, now=now,
            limits=Limits(max_inflated_bytes=1024 * 1024),
        )  # fmt: skip
    assert zlib


def test_size_cap(share: Any) -> None:
    with pytest.raises(ShareError, match="larger than"):
        open_share(share.file, share.key, now=NOW, limits=Limits(max_file_bytes=1000))
    with pytest.raises(ShareRejected, match="larger than"):
        open_share_bytes(
            share.file.read_bytes(),
            parse_share_key(share.key),
            now=0,
            limits=Limits(max_file_bytes=10),
        )


# --- history, audit, revoke ----------------------------------------------------------------------


def test_history_and_audit(demo_session: Session, share: Any) -> None:
    history = {h.id: h for h in list_shares(demo_session)}
    entry = history[share.id]
    assert entry.label == "Dr Lung, pulmonology" and entry.record_count == share.record_count
    assert entry.expires_at == (NOW + timedelta(days=30)).isoformat()
    assert entry.selection == {"preset": "pulmonologist"} and entry.key_handed_out
    assert entry.file_name == share.file.name and entry.fingerprint == share.fingerprint
    audits = [a for a in demo_session.audit_entries() if a.action == "share"]
    assert any(a.detail["share_id"] == share.id for a in audits)
    assert all("Dr Lung" not in json.dumps(a.detail) for a in audits)
    assert demo_session.verify_audit().ok
    # one signing key per profile: every share is signed by it
    assert {h.fingerprint for h in history.values()} == {share.fingerprint}


def test_revoke_only_while_the_key_is_held(
    demo_session: Session, share: Any, tmp_path: Path
) -> None:
    with pytest.raises(ServiceError, match="cannot be recalled"):
        revoke_share(demo_session, share.id)
    held = create_share(
        demo_session, tmp_path / "h", ShareSelection(kinds=("allergy",)), "later",
        hand_out_key=False, now=NOW,
    )  # fmt: skip
    assert held.key == ""
    revoke_share(demo_session, held.id)
    with pytest.raises(ServiceError, match="revoked"):
        reveal_key(demo_session, held.id)
    again = create_share(
        demo_session, tmp_path / "i", ShareSelection(kinds=("allergy",)), "later",
        hand_out_key=False, now=NOW,
    )  # fmt: skip
    key = reveal_key(demo_session, again.id)
    assert open_share(again.file, key, now=NOW).recipient == "later"
    with pytest.raises(ServiceError, match="cannot be recalled"):
        revoke_share(demo_session, again.id)
    actions = [a.action for a in demo_session.audit_entries(5)]
    assert "share_key_shown" in actions and "share_revoked" in actions
