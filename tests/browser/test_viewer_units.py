"""The viewer's own pieces, run in the same Chromium and held against the app's Python: key
parsing and its typo messages, the HKDF content key, RFC 7638 thumbprints, the signature
header checks, and the genotype reader of the AATD overview."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import orjson
import pytest
from joserfc import jws

from phr_desktop.services.terminology import aatd_pack
from phr_desktop.sharing.bundle import b64url, b64url_decode
from phr_desktop.sharing.errors import ShareError
from phr_desktop.sharing.keys import fingerprint, public_jwk
from phr_desktop.sharing.open import DEFAULT_LIMITS, _verify
from phr_desktop.sharing.share_key import ShareKey, new_share_key, parse_share_key
from tests.browser.chromium import Page
from tests.browser.shares import claims_for, make_html_share, new_signer, observation_bundle


@pytest.fixture
def viewer(page: Page, tmp_path: Path) -> Page:
    made = make_html_share(
        tmp_path, "units", claims_for(int(time.time()), 1), observation_bundle(1)
    )
    page.open(made.html)
    return page


def js(page: Page, expression: str) -> Any:
    return page.evaluate(f"(async () => {{ {expression} }})()")


def parsed_in_browser(page: Page, text: str) -> Any:
    return js(
        page,
        f"""try {{
              const k = PHR.crypto.parseShareKey({json.dumps(text)});
              const hex = b => b === null ? null
                : [...b].map(x => x.toString(16).padStart(2, '0')).join('');
              const content = await PHR.crypto.contentKeyBytes(k);
              return {{secret: hex(k.secret), prefix: hex(k.signerPrefix), content: hex(content)}};
            }} catch (e) {{ return {{error: e.message, kind: e.kind}}; }}""",
    )


def test_keys_read_as_the_app_reads_them_and_give_the_same_content_key(viewer: Page) -> None:
    for _ in range(12):
        key = new_share_key(fingerprint(new_signer()))
        assert key.signer_prefix is not None
        expected = {
            "secret": key.secret.hex(),
            "prefix": key.signer_prefix.hex(),
            "content": key.content_key().hex(),
        }
        text = key.text()
        assert parsed_in_browser(viewer, text) == expected
        # Typed sloppily: lower case, spaces for dashes, O for 0 and L for 1.
        sloppy = text.replace("-", " ").lower().replace("0", "o").replace("1", "l")
        assert parsed_in_browser(viewer, sloppy) == expected
        assert parse_share_key(sloppy) == key


def test_an_old_key_is_its_own_content_key(viewer: Page) -> None:
    key = ShareKey(bytes(range(32)), None)
    assert parsed_in_browser(viewer, b64url(key.secret)) == {
        "secret": key.secret.hex(),
        "prefix": None,
        "content": key.content_key().hex(),
    }


@pytest.mark.parametrize(
    "mangle",
    [
        lambda t: t[:-6],  # a group short
        lambda t: t + "7",  # one too many
        lambda t: "U" + t[1:],  # a letter Crockford never uses
        lambda t: t[:13] + ("Z" if t[13] != "Z" else "Y") + t[14:],  # a typo in group 3
        lambda t: "-".join([*t.split("-")[1:2], *t.split("-")[0:1], *t.split("-")[2:]]),  # swapped
    ],
)
def test_a_mistyped_key_gets_the_apps_message(viewer: Page, mangle: Any) -> None:
    text = mangle(new_share_key(fingerprint(new_signer())).text())
    with pytest.raises(ShareError) as refused:
        parse_share_key(text)
    assert parsed_in_browser(viewer, text) == {"error": str(refused.value), "kind": "key"}


def test_thumbprints_are_rfc_7638_as_the_app_computes_them(viewer: Page) -> None:
    for _ in range(5):
        signer = new_signer()
        jwk = public_jwk(signer)
        got = js(viewer, f"return await PHR.crypto.thumbprint({json.dumps(jwk)});")
        assert got == fingerprint(signer)


def test_base64url_is_strict(viewer: Page) -> None:
    for good in ("", "AQID", "_-8", "AQIDBA"):
        back = js(viewer, f"return PHR.crypto.b64url(PHR.crypto.b64urlDecode({json.dumps(good)}));")
        assert back == good == b64url(b64url_decode(good))
    for bad in ("AQ==", "A+/B", "A", "AQI$"):
        threw = js(
            viewer,
            f"try {{ PHR.crypto.b64urlDecode({json.dumps(bad)}); return false; }}"
            " catch (e) { return true; }",
        )
        assert threw, bad


def _signed() -> tuple[bytes, dict[str, Any]]:
    signer = new_signer()
    header = {"alg": "ES256", "typ": "JWT", "kid": fingerprint(signer), "jwk": public_jwk(signer)}
    token = jws.serialize_compact(header, b'{"a":1}', signer, algorithms=["ES256"])
    return token.encode("ascii"), header


def _with_header(token: bytes, header: dict[str, Any]) -> bytes:
    _old, payload, signature = token.split(b".")
    return b".".join((b64url(orjson.dumps(header)).encode(), payload, signature))


def _cases() -> list[tuple[str, Any]]:
    other = public_jwk(new_signer())
    return [
        ("another algorithm", lambda t, h: _with_header(t, {**h, "alg": "HS256"})),
        ("an unknown header", lambda t, h: _with_header(t, {**h, "x5u": "https://x.invalid"})),
        ("a private key", lambda t, h: _with_header(t, {**h, "jwk": {**h["jwk"], "d": "AA"}})),
        ("a key id of another key", lambda t, h: _with_header(t, {**h, "jwk": other})),
        (
            "a changed payload",
            lambda t, h: t.replace(t.split(b".")[1], b64url(b'{"a":2}').encode()),
        ),
    ]


@pytest.mark.parametrize(("what", "tamper"), _cases(), ids=[c[0] for c in _cases()])
def test_the_signature_checks_refuse_what_the_app_refuses(
    viewer: Page, what: str, tamper: Any
) -> None:
    token, header = _signed()
    bad = tamper(token, header)
    with pytest.raises(ShareError) as refused:
        _verify(bad, DEFAULT_LIMITS)
    got = js(
        viewer,
        f"""try {{ await PHR.crypto.verify(new TextEncoder().encode({json.dumps(bad.decode())}));
                  return 'verified'; }} catch (e) {{ return e.message; }}""",
    )
    assert got == str(refused.value), what
    good = js(
        viewer,
        f"""const token = new TextEncoder().encode({json.dumps(token.decode())});
            const v = await PHR.crypto.verify(token);
            return [new TextDecoder().decode(v.payload), v.thumbprint];""",
    )
    assert good == ['{"a":1}', header["kid"]]


GENOTYPE_TEXTS = [
    "PiZZ", "Pi*ZZ", "PI ZZ", "Z/Z", "ZZ", "zz", "Pi*Z,Q0", "Pi*MZ", "M1Z", "SZ", "Pi*M/Null",
    "Phenotype: MS", "MS", "Result Pi*SZ (severe)", "normal", "", "M Z", "Pi*Q0Q0", "FZ", "XY",
    "Alpha-1 antitrypsin phenotype ZZ", "heterozygous MZ",
]  # fmt: skip


def test_genotypes_are_read_as_the_app_reads_them(viewer: Page) -> None:
    pack = aatd_pack()
    got = js(
        viewer,
        f"""const data = JSON.parse(document.getElementById('phr-pack').textContent);
            const pack = PHR.records.makePack(data);
            return {json.dumps(GENOTYPE_TEXTS)}.map(t => PHR.records.genotypeOf(pack, t));""",
    )
    assert got == [pack.genotype_of(t) for t in GENOTYPE_TEXTS]
