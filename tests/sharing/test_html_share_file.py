"""The `.html` form of a share, as a file: made beside the `.phrshare` on request, holding
the very same JWE, running only its own hashed script and style, and saying nothing about
the patient outside the encryption. (tests/browser opens it in a real browser.)"""

from __future__ import annotations

import base64
import hashlib
import re
import stat
from collections.abc import Iterator
from pathlib import Path

import orjson
import pypdf
import pytest

from phr_desktop.cli import main
from phr_desktop.services.demo import DEMO_PASSPHRASE
from phr_desktop.services.share_opening import open_share
from phr_desktop.services.sharing import CreatedShare
from phr_desktop.sharing.bundle import JWE_HEADER, PASSCODE_HEADER, b64url, b64url_decode
from phr_desktop.sharing.errors import ShareError, ShareRejected, WrongShareKey
from phr_desktop.sharing.open import open_share_bytes
from phr_desktop.sharing.share_key import ShareKey
from tests.share_fixtures import SharedProfile, make_share, shared_profile


@pytest.fixture(scope="module")
def profile(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SharedProfile]:
    with shared_profile(tmp_path_factory.mktemp("html-file")) as shared:
        yield shared


@pytest.fixture(scope="module")
def created(profile: SharedProfile, tmp_path_factory: pytest.TempPathFactory) -> CreatedShare:
    folder = tmp_path_factory.mktemp("out")
    return make_share(profile, folder / "for-dr-lung.phrshare", html=True, handout=folder / "h.pdf")


def _html(created: CreatedShare) -> str:
    assert created.html is not None
    return created.html.read_text(encoding="utf-8")


def _sha256(text: str) -> str:
    return "'sha256-" + base64.b64encode(hashlib.sha256(text.encode()).digest()).decode() + "'"


def test_the_html_is_written_beside_the_share_private_to_its_owner(created: CreatedShare) -> None:
    assert created.html == created.file.with_suffix(".html")
    assert stat.S_IMODE(created.html.stat().st_mode) == 0o600


def test_the_html_holds_the_same_jwe(created: CreatedShare) -> None:
    block = re.search(
        r'<script id="phr-share" type="application/jose">([^<]*)</script>', _html(created)
    )
    assert block and block.group(1).encode("ascii") == created.file.read_bytes()


def test_only_its_own_script_and_style_may_run_and_nothing_may_load(created: CreatedShare) -> None:
    html = _html(created)
    csp = re.search(r'http-equiv="Content-Security-Policy" content="([^"]+)"', html)
    assert csp
    directives = dict(d.split(" ", 1) for d in csp.group(1).split("; "))
    scripts = re.findall(r"<script>(.*?)</script>", html, re.S)
    styles = re.findall(r"<style>(.*?)</style>", html, re.S)
    assert len(scripts) == len(styles) == 1
    assert directives == {
        "default-src": "'none'",
        "script-src": _sha256(scripts[0]),
        "style-src": _sha256(styles[0]),
        "base-uri": "'none'",
        "form-action": "'none'",
    }
    # Nothing that would load from elsewhere: no src, no stylesheet link, no external href.
    assert not re.search(r"<(link|img|iframe|object|embed)\b", html, re.I)
    assert not re.search(r"\ssrc=", html, re.I)
    assert re.findall(r'href="([^"]*)"', html) == ["#main"]
    assert "innerHTML" not in scripts[0]  # shared text goes in as text, never as markup


def test_nothing_about_the_patient_is_outside_the_encryption(
    profile: SharedProfile, created: CreatedShare
) -> None:
    html = _html(created)
    assert created.patient_name and created.patient_name not in html
    assert profile.noted_title not in html.split('id="phr-pack"')[0]
    assert created.key not in html and created.key.replace("-", "") not in html
    assert "Dr Lung" not in html


def _passcode_header(sealed: bytes) -> dict[str, object]:
    header = orjson.loads(b64url_decode(sealed.split(b".")[0].decode()))
    return dict(header[PASSCODE_HEADER])


def test_with_a_browser_page_the_passcode_is_stretched_with_pbkdf2(
    profile: SharedProfile, tmp_path: Path
) -> None:
    made = make_share(profile, tmp_path / "p.phrshare", html=True, passcode="tulip-42")
    params = _passcode_header(made.file.read_bytes())
    assert params["kdf"] == "pbkdf2-sha256" and params["i"] == 600_000
    assert len(b64url_decode(str(params["salt"]))) == 16
    # The app opens it with both, and not with the key alone.
    assert open_share(made.file, made.key, passcode="tulip-42").record_count == made.record_count
    with pytest.raises(ShareError, match="passcode"):
        open_share(made.file, made.key)
    with pytest.raises(WrongShareKey, match="key and passcode do not open"):
        open_share(made.file, made.key, passcode="tulip-43")
    # Without a browser page, a passcode keeps its Argon2id.
    plain = make_share(profile, tmp_path / "q.phrshare", passcode="tulip-42")
    assert _passcode_header(plain.file.read_bytes())["kdf"] == "argon2id"


@pytest.mark.parametrize(
    "params",
    [
        {"kdf": "pbkdf2-sha256", "salt": "AAAAAAAAAAAAAAAAAAAAAA", "i": 1000},  # too cheap
        {"kdf": "pbkdf2-sha256", "salt": "AAAAAAAAAAAAAAAAAAAAAA", "i": 10**9},  # minutes
        {"kdf": "pbkdf2-sha256", "salt": "AAAAAAAAAAAAAAAAAAAAAA", "i": True},
        {"kdf": "pbkdf2-sha256", "salt": "AAAAAAAAAAAAAAAAAAAAAA", "i": 600_000, "t": 3},
        {"kdf": "pbkdf2-sha512", "salt": "AAAAAAAAAAAAAAAAAAAAAA", "i": 600_000},
        {"kdf": ["argon2id"], "salt": "AAAAAAAAAAAAAAAAAAAAAA", "i": 600_000},
    ],
)
def test_passcode_parameters_out_of_bounds_are_refused(params: dict[str, object]) -> None:
    header = b64url(orjson.dumps({**JWE_HEADER, PASSCODE_HEADER: params})).encode()
    forged = header + b"..AAAAAAAAAAAAAAAA.AAAA.AAAAAAAAAAAAAAAAAAAAAA"
    with pytest.raises(ShareRejected, match="passcode parameters are not ones we accept"):
        open_share_bytes(forged, ShareKey(bytes(32), None), now=0, passcode="tulip-42")


def test_the_handout_tells_both_ways_to_open_it(created: CreatedShare) -> None:
    assert created.handout is not None and created.html is not None
    text = " ".join(pypdf.PdfReader(created.handout).pages[0].extract_text().split())
    assert created.html.name in text and created.file.name in text
    assert "in any current browser" in text
    assert "Or with the app, phr-desktop" in text


def test_cli_html_flag(
    data_dir: Path, fast_kdf: None, monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str], tmp_path: Path,
) -> None:  # fmt: skip
    monkeypatch.setenv("PHR_DATA_DIR", str(data_dir))
    monkeypatch.setenv("PHR_PASSPHRASE", DEMO_PASSPHRASE)
    assert main(["demo", "--json"]) == 0
    capsys.readouterr()
    out_file = tmp_path / "dr.phrshare"
    code = main(
        ["--profile", "demo", "share", "create", "--tag", "aatd", "--html", "-o", str(out_file),
         "--json"]
    )  # fmt: skip
    made = orjson.loads(capsys.readouterr().out)
    assert code == 0 and made["html"] == str(tmp_path / "dr.html")
    assert out_file.read_text() in Path(made["html"]).read_text()
    code = main(
        ["--profile", "demo", "share", "create", "--tag", "aatd", "-o", str(tmp_path / "b")]
    )
    out = capsys.readouterr().out
    assert code == 0 and not (tmp_path / "b.html").exists() and ".html" not in out
