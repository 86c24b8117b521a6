"""`phr share` as a careful clinician and a careless patient use it: the key need not be on the
command line (item 14), a hand-out that cannot be written leaves no share behind (item 20),
`share open` reads like `records` (item 22), and `--json` gives the key as a JWK."""

from __future__ import annotations

import getpass
import io
import stat
import sys
from pathlib import Path
from typing import Any

import orjson
import pytest
from jwcrypto import jwe as cjwe
from jwcrypto import jwk as cjwk

from phr_desktop.cli import main
from phr_desktop.services.demo import DEMO_PASSPHRASE
from phr_desktop.services.profiles import Profiles
from phr_desktop.vault.keys import KdfParams
from tests.cli_runner import cli_runner


@pytest.fixture(scope="module")
def demo_data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("share-cli") / "data"
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr("phr_desktop.vault.vault.calibrate_kdf", KdfParams.minimum)
        mp.setenv("PHR_DATA_DIR", str(folder))
        assert main(["demo"]) == 0
    return folder


@pytest.fixture
def phr(demo_data: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]):  # type: ignore[no-untyped-def]
    return cli_runner(monkeypatch, capsys, demo_data, DEMO_PASSPHRASE, unset=("PHR_SHARE_KEY",))


@pytest.fixture
def made(phr, tmp_path: Path) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    code, out, _ = phr(
        "--profile", "demo", "share", "create", "--kind", "lab_result", "--tag", "aatd",
        "--for", "Dr Lung", "-o", str(tmp_path / "aat.phrshare"), "--json",
    )  # fmt: skip
    assert code == 0
    return dict(orjson.loads(out))


# --- item 14: the key off the command line ------------------------------------------------------


def test_the_key_from_a_file(phr, made: dict[str, Any], tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    key_file = tmp_path / "key.txt"
    key_file.write_text(made["key"] + "\n")
    code, out, _ = phr("share", "open", made["file"], "--key-file", str(key_file), "--json")
    assert code == 0 and orjson.loads(out)["recipient"] == "Dr Lung"


def test_the_key_from_the_environment(phr, made: dict[str, Any], monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("PHR_SHARE_KEY", made["key"].lower())
    assert phr("share", "open", made["file"])[0] == 0


def test_at_a_terminal_the_key_is_asked_for_without_echo(
    phr, made: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:  # type: ignore[no-untyped-def]
    asked: list[str] = []

    def hidden_prompt(prompt: str = "") -> str:
        asked.append(prompt)
        return str(made["key"])

    monkeypatch.setattr(sys, "stdin", _Terminal())
    monkeypatch.setattr(getpass, "getpass", hidden_prompt)
    code, out, _ = phr("share", "open", made["file"])
    assert code == 0 and asked == ["Share key (from the patient's hand-out): "]
    assert "Dr Lung" in out


def test_without_a_terminal_or_a_key_it_says_how_to_give_one(phr, made: dict[str, Any]) -> None:  # type: ignore[no-untyped-def]
    code, out, err = phr("share", "open", made["file"])
    assert code == 1 and out == ""
    assert "--key-file" in err and "PHR_SHARE_KEY" in err


def test_an_unreadable_key_file_is_named(phr, made: dict[str, Any], tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    code, _, err = phr("share", "open", made["file"], "--key-file", str(tmp_path / "none"))
    assert code == 1 and "Could not read a share key from" in err


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


# --- --json: the key as a JWK, for standard JOSE tools ------------------------------------------


def test_json_gives_the_key_as_a_jwk_that_a_jose_library_opens(made: dict[str, Any]) -> None:
    token = cjwe.JWE()
    token.deserialize(Path(made["file"]).read_text())
    token.decrypt(cjwk.JWK(**made["key_jwk"]))
    assert token.payload.count(b".") == 2  # the signed JWT inside
    assert len(made["key"].split("-")) == 10


def test_share_files_and_hand_outs_are_written_0600(phr, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    code, _out, _ = phr(
        "--profile", "demo", "share", "create", "--kind", "allergy", "--handout",
        str(tmp_path / "sheet.pdf"), "-o", str(tmp_path / "a.phrshare"), "--json",
    )  # fmt: skip
    assert code == 0
    for name in ("sheet.pdf", "a.phrshare"):
        assert stat.S_IMODE((tmp_path / name).stat().st_mode) == 0o600


# --- item 20: a hand-out that cannot be written ---------------------------------------------------


@pytest.mark.parametrize("where", ["missing-folder", "a-folder", "unwritable"])
def test_a_handout_that_cannot_be_written_leaves_no_share_behind(
    phr, tmp_path: Path, where: str
) -> None:  # type: ignore[no-untyped-def]
    handout = {
        "missing-folder": tmp_path / "nowhere" / "sheet.pdf",
        "a-folder": tmp_path,
        "unwritable": Path("/sys/sheet.pdf"),  # passes the early checks, fails at writing
    }[where]
    _, before, _ = phr("--profile", "demo", "share", "list", "--json")
    code, out, err = phr(
        "--profile", "demo", "share", "create", "--kind", "allergy", "--for", "Dr Nobody",
        "--handout", str(handout), "-o", str(tmp_path / "never.phrshare"),
    )  # fmt: skip
    assert code == 1 and out == "" and "hand-out" in err and "Nothing was shared" in err
    assert str(handout.parent if where == "missing-folder" else handout) in err
    assert not (tmp_path / "never.phrshare").exists()
    assert not list(tmp_path.glob(".never*"))
    _, after, _ = phr("--profile", "demo", "share", "list", "--json")
    assert after == before  # no share, let alone one marked "key given"
    _, audit, _ = phr("--profile", "demo", "audit", "--json")
    shares = [e for e in orjson.loads(audit)["entries"] if e["action"] == "share"]
    assert len(shares) == len(orjson.loads(before))


def test_a_handout_with_a_held_back_key_is_refused_before_anything_is_made(
    phr, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    code, _, err = phr(
        "--profile", "demo", "share", "create", "--kind", "allergy", "--hold-key",
        "--handout", str(tmp_path / "sheet.pdf"), "-o", str(tmp_path / "held.phrshare"),
    )  # fmt: skip
    assert code == 1 and "held back" in err
    assert list(tmp_path.iterdir()) == []


# --- item 22: `share open` reads like `records` ---------------------------------------------


def test_share_open_shows_values_and_units_newest_first(phr, made: dict[str, Any]) -> None:  # type: ignore[no-untyped-def]
    code, out, _ = phr("share", "open", made["file"], "--key", made["key"])
    assert code == 0
    rows = [line for line in out.splitlines() if "lab_result" in line]
    assert len(rows) >= 3
    aat_levels = [row for row in rows if row.rstrip().endswith(" mg/dL")]
    assert len(aat_levels) >= 3 and any("Pi*ZZ" in row for row in rows)  # text values too
    dates = [row.split()[0] for row in rows]
    assert dates == sorted(dates, reverse=True)
    _, listed, _ = phr(
        "--profile", "demo", "records", "--kind", "lab_result", "--tag", "aatd"
    )  # the same lines as `records` gives, without its ids
    expected = [" ".join(line.split()[1:]) for line in listed.splitlines()]
    assert sorted(" ".join(row.split()) for row in rows) == sorted(expected)
    shown = orjson.loads(phr("share", "open", made["file"], "--key", made["key"], "--json")[1])
    json_dates = [r["date"] for r in shown["records"] if r["date"]]
    assert json_dates == sorted(json_dates, key=lambda d: d[:19], reverse=True)


# --- item 11: files that once ended `share open` in a traceback -----------------------------------


def _crafted(kind: str) -> tuple[bytes, str]:
    from joserfc.jwk import ECKey

    from phr_desktop.sharing.bundle import b64url, seal
    from phr_desktop.sharing.share_key import new_share_key

    if kind == "short salt":
        params = {"kdf": "argon2id", "salt": "AAAA", "t": 1, "m": 8192, "p": 1}
        outer = cjwe.JWE(b"a.b.c", protected={"alg": "dir", "enc": "A256GCM",
                                              "phr_passcode": params})  # fmt: skip
        outer.add_recipient(cjwk.JWK(kty="oct", k=b64url(bytes(32))))
        return outer.serialize(compact=True).encode(), b64url(bytes(32))
    signer = ECKey.generate_key("P-256", private=True)
    key = new_share_key(signer.thumbprint())
    when = 10**18 if kind == "+10^18" else -(10**18)
    claims = {"iat": when, "nbf": when, "exp": when, "record_count": 0, "patient_name": "P"}
    bundle = b'{"resourceType":"Bundle","type":"collection"}'
    return seal(signer, claims, bundle, key.content_key()), key.text()


@pytest.mark.parametrize("kind", ["+10^18", "-10^18", "short salt"])
def test_share_open_of_a_crafted_file_ends_in_a_message(phr, tmp_path: Path, kind: str) -> None:  # type: ignore[no-untyped-def]
    data, key = _crafted(kind)
    (tmp_path / "odd.phrshare").write_bytes(data)
    (tmp_path / "key.txt").write_text(key)
    (tmp_path / "passcode.txt").write_text("1234")
    code, out, err = phr(
        "share", "open", str(tmp_path / "odd.phrshare"), "--key-file", str(tmp_path / "key.txt"),
        "--passcode-file", str(tmp_path / "passcode.txt"),
    )  # fmt: skip
    assert code == 1 and out == "" and err.startswith("phr: ")
    assert ("salt" in err) if kind == "short salt" else ("not a real date" in err)


def test_a_held_back_key_shown_later_is_the_new_kind_and_comes_with_its_jwk(
    phr, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    code, out, _ = phr(
        "--profile", "demo", "share", "create", "--kind", "allergy", "--hold-key",
        "-o", str(tmp_path / "held.phrshare"), "--json",
    )  # fmt: skip
    held = orjson.loads(out)
    assert code == 0 and held["key"] is None and held["key_jwk"] is None
    code, out, _ = phr("--profile", "demo", "share", "key", held["id"], "--json")
    shown = orjson.loads(out)
    assert code == 0 and len(shown["key"].split("-")) == 10
    token = cjwe.JWE()
    token.deserialize((tmp_path / "held.phrshare").read_text())
    token.decrypt(cjwk.JWK(**shown["key_jwk"]))
    code, out, _ = phr("share", "open", str(tmp_path / "held.phrshare"), "--key", shown["key"])
    assert code == 0 and "names this signer: checked" in out


def test_saved_files_are_readable_by_the_clinician_only(
    phr, demo_data: Path, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    scan = tmp_path / "scan.pdf"
    scan.write_bytes(b"%PDF-1.4\n%%EOF\n")
    with Profiles(demo_data).unlock("demo", passphrase=DEMO_PASSPHRASE) as session:
        record_id = session.entries.upload_document(scan, "Scan", "2025-01-10")
    code, out, _ = phr(
        "--profile", "demo", "share", "create", "--record", str(record_id), "--attachments",
        "-o", str(tmp_path / "f.phrshare"), "--json",
    )  # fmt: skip
    made = orjson.loads(out)
    code, out, _ = phr(
        "share", "open", made["file"], "--key", made["key"], "--save-files", str(tmp_path / "in"),
        "--json",
    )  # fmt: skip
    (saved,) = orjson.loads(out)["saved_files"]
    assert code == 0 and stat.S_IMODE(Path(saved).stat().st_mode) == 0o600
