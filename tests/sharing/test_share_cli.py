"""`phr share create … --json` then `phr share open FILE --key K --json`."""

from __future__ import annotations

from pathlib import Path

import orjson
import pytest

from phr_desktop.cli import main
from phr_desktop.services.demo import DEMO_PASSPHRASE


def _run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def test_cli_round_trip(
    data_dir: Path, fast_kdf: None, monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str], tmp_path: Path,
) -> None:  # fmt: skip
    monkeypatch.setenv("PHR_DATA_DIR", str(data_dir))
    monkeypatch.setenv("PHR_PASSPHRASE", DEMO_PASSPHRASE)
    assert _run(capsys, "demo", "--json")[0] == 0
    out_file = tmp_path / "dr.phrshare"
    code, out, _ = _run(
        capsys, "--profile", "demo", "share", "create", "--kinds", "allergy,problem",
        "--since", "2000", "--for", "Dr Lung", "--expires", "12h", "-o", str(out_file), "--json",
    )  # fmt: skip
    assert code == 0
    made = orjson.loads(out)
    assert {"file", "key", "expires", "fingerprint"} <= set(made)
    assert made["key"] not in out_file.read_text()
    code, out, _ = _run(capsys, "share", "open", made["file"], "--key", made["key"], "--json")
    assert code == 0
    view = orjson.loads(out)
    assert view["signer"]["fingerprint"] == made["fingerprint"]
    assert view["recipient"] == "Dr Lung" and view["expires_at"] == made["expires"]
    assert view["record_count"] == made["records"] > 0
    assert {r["kind"] for r in view["records"]} <= {"allergy", "problem", "patient"}

    code, out, _ = _run(capsys, "--profile", "demo", "share", "list", "--json")
    assert code == 0 and orjson.loads(out)[0]["label"] == "Dr Lung"

    code, out, err = _run(capsys, "share", "open", made["file"], "--key", "A" * 43)
    assert code == 1 and out == "" and "does not open" in err

    monkeypatch.setenv("PHR_SHARE_PASSCODE", "tulip 42")
    code, out, _ = _run(
        capsys, "--profile", "demo", "share", "create", "--tag", "aatd", "--passcode",
        "-o", str(tmp_path / "p.phrshare"), "--json",
    )  # fmt: skip
    protected = orjson.loads(out)
    code, out, err = _run(capsys, "share", "open", protected["file"], "--key", protected["key"])
    assert code == 1 and "passcode" in err and out == ""
    code, out, _ = _run(
        capsys, "share", "open", protected["file"], "--key", protected["key"], "--passcode"
    )
    assert code == 0 and "Read-only" in out
