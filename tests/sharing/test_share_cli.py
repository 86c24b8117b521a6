"""`phr share create … --json` then `phr share open FILE --key K --json`."""

from __future__ import annotations

from pathlib import Path

import orjson
import pytest

from phr_desktop.cli import main
from phr_desktop.services.demo import DEMO_PASSPHRASE
from phr_desktop.services.profiles import Profiles


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


def test_cli_attached_files_and_handout(
    data_dir: Path, fast_kdf: None, monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str], tmp_path: Path,
) -> None:  # fmt: skip
    monkeypatch.setenv("PHR_DATA_DIR", str(data_dir))
    monkeypatch.setenv("PHR_PASSPHRASE", DEMO_PASSPHRASE)
    assert _run(capsys, "demo", "--json")[0] == 0
    scan = tmp_path / "ct-report.pdf"
    scan.write_bytes(b"%PDF-1.4\n%%EOF\n")
    with Profiles(data_dir).unlock("demo", passphrase=DEMO_PASSPHRASE) as session:
        record_id = session.entries.upload_document(scan, "Chest CT report", "2025-01-10")
    code, out, _ = _run(
        capsys, "--profile", "demo", "share", "create", "--record", str(record_id),
        "--attachments", "--for", "Dr Lung", "--handout", str(tmp_path / "sheet.pdf"),
        "-o", str(tmp_path / "files.phrshare"), "--json",
    )  # fmt: skip
    assert code == 0
    made = orjson.loads(out)
    assert made["attachments"] == 1 and made["handout"] == str(tmp_path / "sheet.pdf")
    assert (tmp_path / "sheet.pdf").read_bytes().startswith(b"%PDF")

    folder = tmp_path / "received"
    (folder / "ct-report.pdf").parent.mkdir()
    (folder / "ct-report.pdf").write_bytes(b"someone else's file")
    code, out, _ = _run(
        capsys, "share", "open", made["file"], "--key", made["key"],
        "--save-files", str(folder), "--json",
    )  # fmt: skip
    assert code == 0
    view = orjson.loads(out)
    assert view["attachments"] == [
        {"filename": "ct-report.pdf", "content_type": "application/pdf", "size": 15,
         "record": "Chest CT report"}
    ]  # fmt: skip
    # Saved beside, never over, a file already there.
    assert view["saved_files"] == [str(folder / "ct-report (2).pdf")]
    assert (folder / "ct-report.pdf").read_bytes() == b"someone else's file"
    assert (folder / "ct-report (2).pdf").read_bytes() == scan.read_bytes()
