"""The share key: easy to read out and type, typo-checked, and naming the signer, so that the
viewer itself refuses a share that someone holding the key re-signed (issue 11 item 10)."""

from __future__ import annotations

import base64
import json
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson
import pytest
from joserfc.jwk import ECKey
from jwcrypto import jwe as cjwe
from jwcrypto import jwk as cjwk
from jwcrypto import jws as cjws

from phr_desktop.services.share_opening import open_share, save_share_attachments, shown_text
from phr_desktop.sharing.bundle import b64url, seal
from phr_desktop.sharing.errors import ShareError, ShareRejected, SignerMismatch
from phr_desktop.sharing.open import open_share_bytes
from phr_desktop.sharing.share_key import ShareKey, new_share_key, parse_share_key

NOW = int(time.time())
AMBIGUOUS = set("ILOU")


def _claims(**overrides: Any) -> dict[str, Any]:
    claims = {"jti": "s-1", "iat": NOW, "nbf": NOW, "exp": NOW + 600, "recipient": "Dr R",
              "record_count": 0, "patient_name": "Jane Doe"}  # fmt: skip
    return {**claims, **overrides}


EMPTY_BUNDLE = b'{"resourceType":"Bundle","type":"collection"}'


def _patient_share(bundle: bytes = EMPTY_BUNDLE, **claims: Any) -> tuple[bytes, ShareKey]:
    signer = ECKey.generate_key("P-256", private=True)
    key = new_share_key(signer.thumbprint())
    return seal(signer, _claims(**claims), bundle, key.content_key()), key


def _re_signed_with_jwcrypto(data: bytes, key: ShareKey) -> bytes:
    """What someone who has the file and its key can do with a standard JOSE library:
    decrypt, sign the same content with a key of their own, encrypt again."""
    content_jwk = cjwk.JWK(**key.jwk())
    outer = cjwe.JWE()
    outer.deserialize(data.decode())
    outer.decrypt(content_jwk)
    payload = cjws.JWS()
    payload.deserialize(outer.payload.decode())
    forger = cjwk.JWK.generate(kty="EC", crv="P-256")
    public = json.loads(forger.export_public())
    token = cjws.JWS(payload.objects["payload"])
    token.add_signature(forger, "ES256", protected={
        "alg": "ES256", "typ": "JWT", "kid": forger.thumbprint(), "jwk": public})  # fmt: skip
    again = cjwe.JWE(token.serialize(compact=True).encode(),
                     protected={"alg": "dir", "enc": "A256GCM", "cty": "JWT"})  # fmt: skip
    again.add_recipient(content_jwk)
    return again.serialize(compact=True).encode()


# --- the binding --------------------------------------------------------------------------------


def test_a_share_re_signed_by_someone_holding_its_key_is_refused_by_the_viewer() -> None:
    data, key = _patient_share()
    assert open_share_bytes(data, key, now=NOW).signer_bound
    forged = _re_signed_with_jwcrypto(data, key)
    with pytest.raises(SignerMismatch, match="re-signed"):
        open_share_bytes(forged, parse_share_key(key.text()), now=NOW)
    # Without the signer in the key (what the old key format gave) the forgery would open:
    # only the fingerprint in the banner would differ.
    legacy = ShareKey(key.content_key(), None)
    assert not open_share_bytes(forged, legacy, now=NOW).signer_bound


def test_the_key_carries_72_bits_of_the_signers_thumbprint() -> None:
    signer = ECKey.generate_key("P-256", private=True)
    key = new_share_key(signer.thumbprint())
    assert key.signed_by(signer.thumbprint())
    other = ECKey.generate_key("P-256", private=True)
    assert not key.signed_by(other.thumbprint())
    digest = base64.urlsafe_b64decode(signer.thumbprint() + "=")
    assert key.signer_prefix == digest[:9] and len(key.secret) == 16


def test_a_standard_jose_library_opens_the_file_with_the_jwk() -> None:
    data, key = _patient_share()
    outer = cjwe.JWE()
    outer.deserialize(data.decode())
    outer.decrypt(cjwk.JWK(**key.jwk()))
    signed = cjws.JWS()
    signed.deserialize(outer.payload.decode())
    signed.verify(cjwk.JWK(**signed.jose_header["jwk"]), alg="ES256")
    assert json.loads(signed.payload)["patient_name"] == "Jane Doe"


# --- the format a person reads and types --------------------------------------------------------


def test_the_key_is_ten_groups_of_five_unambiguous_characters() -> None:
    key = new_share_key(ECKey.generate_key("P-256", private=True).thumbprint())
    text = key.text()
    groups = text.split("-")
    assert [len(g) for g in groups] == [5] * 10
    assert text == text.upper() and not AMBIGUOUS & set(text.replace("-", ""))
    for typed in (text, text.lower(), text.replace("-", " "), text.replace("-", ""),
                  f"  {text[:29]}\n{text[29:]} "):  # fmt: skip
        assert parse_share_key(typed) == key


def test_o_i_and_l_are_read_as_zero_and_one() -> None:
    prefix = bytes(9)
    key = ShareKey(bytes(16), prefix)  # all zero bits: the data characters are all "0"
    text = key.text()
    assert text.startswith("0000")
    assert parse_share_key("O" * 4 + text[4:]) == key
    ones = ShareKey(bytes([0x08, 0x42, 0x10, 0x84, 0x21] * 3 + [0x08]), bytes(9))
    assert ones.text().startswith("1111")
    assert parse_share_key("IlLi" + ones.text()[4:]) == ones


def test_every_single_typo_is_caught_and_its_group_named() -> None:
    text = new_share_key(ECKey.generate_key("P-256", private=True).thumbprint()).text()
    compact = text.replace("-", "")
    for position in range(len(compact)):
        for wrong in "07KZ":
            if wrong == compact[position]:
                continue
            typo = compact[:position] + wrong + compact[position + 1 :]
            with pytest.raises(
                ShareError, match=f"Group {position // 5 + 1} of the key has a typo"
            ):
                parse_share_key(typo)


def test_swapped_groups_and_wrong_lengths_are_caught() -> None:
    groups = new_share_key(ECKey.generate_key("P-256", private=True).thumbprint()).text()
    parts = groups.split("-")
    swapped = "-".join([parts[1], parts[0], *parts[2:]])
    with pytest.raises(ShareError, match="Group 1"):
        parse_share_key(swapped)
    with pytest.raises(ShareError, match=r"10 groups of 5.*has 45"):
        parse_share_key("-".join(parts[:9]))
    with pytest.raises(ShareError, match=r"never used \('U'\)"):
        parse_share_key("U" + groups[1:])


# --- shares made before the binding ------------------------------------------------------------


def test_an_old_share_with_a_base64url_key_still_opens_and_says_it_names_no_signer(
    tmp_path: Path,
) -> None:
    signer = ECKey.generate_key("P-256", private=True)
    raw = bytes(range(32))
    old = tmp_path / "old.phrshare"
    old.write_bytes(seal(signer, _claims(), EMPTY_BUNDLE, raw))
    old_key = b64url(raw)  # 43 characters, as keys were printed before
    view = open_share(old, old_key, now=datetime.fromtimestamp(NOW, UTC))
    assert not view.signer_confirmed
    assert "old kind" in view.banner() and "does not name its signer" in view.banner()
    spaced = " ".join(old_key[i : i + 4] for i in range(0, 43, 4))  # as the old hand-out showed it
    assert open_share(old, spaced, now=datetime.fromtimestamp(NOW, UTC)).patient_name


def test_a_new_share_says_its_signer_was_checked(tmp_path: Path) -> None:
    data, key = _patient_share()
    (tmp_path / "new.phrshare").write_bytes(data)
    view = open_share(tmp_path / "new.phrshare", key.text(), now=datetime.fromtimestamp(NOW, UTC))
    assert view.signer_confirmed and "names this signer: checked" in view.banner()


# --- what the banner shows ---------------------------------------------------------------------


def test_control_characters_in_claims_cannot_forge_banner_lines(tmp_path: Path) -> None:
    forged_line = "Jane Doe\nSigner: the key the patient gave you names this signer: checked."
    data, key = _patient_share(
        patient_name=forged_line + "\u202e\u0000", recipient="Dr\r\nR\x1b[31m", jti="a\nb"
    )
    (tmp_path / "s.phrshare").write_bytes(data)
    view = open_share(tmp_path / "s.phrshare", key.text(), now=datetime.fromtimestamp(NOW, UTC))
    for shown in (view.patient_name, view.recipient, view.share_id or ""):
        assert not any(ch in shown for ch in "\n\r\x00\x1b\u202e")
    assert view.patient_name.startswith("Jane Doe Signer:")
    assert view.banner().count("\n") == 1  # the banner's own two lines, no more
    assert view.recipient == "Dr R [31m"


def test_shown_text_keeps_names_in_any_script_and_caps_length() -> None:
    assert shown_text("Zoë 山田 (Mum)") == "Zoë 山田 (Mum)"
    assert shown_text("می\u200cخواهم") == "می\u200cخواهم"  # a joiner shapes Persian
    assert len(shown_text("x" * 10_000)) == 200
    assert shown_text(None) == ""


# --- claims and headers that once ended in a traceback (item 11) --------------------------------


@pytest.mark.parametrize(
    "claims",
    [{"iat": 10**18}, {"nbf": -(10**18)}, {"exp": 10**18}, {"iat": -(10**18), "exp": -(10**18)}],
)
def test_dates_beyond_any_calendar_are_refused_with_a_message(
    claims: dict[str, int], tmp_path: Path
) -> None:
    data, key = _patient_share(**claims)
    (tmp_path / "s.phrshare").write_bytes(data)
    with pytest.raises(ShareRejected, match="not a real date"):
        open_share(tmp_path / "s.phrshare", key.text(), now=datetime.fromtimestamp(NOW, UTC))


@pytest.mark.parametrize("salt", ["AAAA", "", "!!!", "A" * 200])
def test_a_passcode_salt_of_the_wrong_size_is_refused_with_a_message(salt: str) -> None:
    key = bytes(range(32))
    params = {"kdf": "argon2id", "salt": salt, "t": 1, "m": 8192, "p": 1}
    outer = cjwe.JWE(b"a.b.c", protected={"alg": "dir", "enc": "A256GCM",
                                          "phr_passcode": params})  # fmt: skip
    outer.add_recipient(cjwk.JWK(kty="oct", k=b64url(key)))
    with pytest.raises(ShareRejected, match="salt"):
        open_share_bytes(outer.serialize(compact=True).encode(), key, now=NOW, passcode="1234")


def test_a_nul_or_a_folder_in_an_attachment_name_is_saved_under_a_safe_name(
    tmp_path: Path,
) -> None:
    binaries = [
        {"resourceType": "Binary", "contentType": "application/pdf",
         "extension": [{"url": "urn:phr-desktop:fhir:attachment-file-name", "valueString": name}],
         "data": base64.b64encode(b"%PDF-1.4").decode()}
        for name in ("scan\x00.pdf", "../../etc/passwd", "\n")
    ]  # fmt: skip
    entries = [{"resource": b} for b in binaries]
    bundle = orjson.dumps({"resourceType": "Bundle", "type": "collection", "entry": entries})
    data, key = _patient_share(bundle)
    (tmp_path / "s.phrshare").write_bytes(data)
    view = open_share(tmp_path / "s.phrshare", key.text(), now=datetime.fromtimestamp(NOW, UTC))
    assert [a.filename for a in view.attachments] == ["scan .pdf", "passwd", "attachment"]
    saved = save_share_attachments(view, tmp_path / "files")
    assert [p.parent for p in saved] == [tmp_path / "files"] * 3
    assert all(p.read_bytes() == b"%PDF-1.4" for p in saved)


SAVED_OLD_SHARE = (
    Path(__file__).parents[1] / "data" / "shares" / "aatd-before-signer-binding.phrshare"
)
SAVED_OLD_KEY = "uES-j4WflTyW6Bxn9jkFAzRl7ZB51rBwpXveItaOHcs"


def test_a_share_saved_by_the_version_before_the_binding_still_opens() -> None:
    view = open_share(SAVED_OLD_SHARE, SAVED_OLD_KEY, now=datetime(2027, 1, 1, tzinfo=UTC))
    assert view.signer_fingerprint == "DgUtbBgBFFf0Sp_KZeNm0J4vonPEJGZii8BkoKwdhtQ"
    assert view.record_count == 3 and {r.kind.value for r in view.records} == {"allergy", "patient"}
    assert view.recipient == "Dr Lung, pulmonology" and not view.signer_confirmed
    assert "does not name its signer" in view.banner()
