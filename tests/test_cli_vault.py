"""`phr` on a vault that is not whole: a refused database and a cut-back audit log are
reported with a message and exit code 1, never a traceback."""

from __future__ import annotations

from pathlib import Path

import orjson
import pytest

from phr_desktop.services.profiles import Profiles
from tests.cli_runner import Run, cli_runner
from tests.conftest import PASSPHRASE


@pytest.fixture
def phr(
    data_dir: Path,
    fast_kdf: None,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> Run:
    run = cli_runner(monkeypatch, capsys, data_dir, PASSPHRASE, env={"PHR_PROFILE": "alex"})
    assert run("profile", "create", "alex")[0] == 0
    return run


def test_an_emptied_vault_file_is_refused_naming_it_and_saying_restore(
    phr: Run, data_dir: Path
) -> None:
    db = data_dir / "profiles" / "alex" / "vault.db"
    db.write_bytes(b"")
    code, out, err = phr("unlock")
    assert code == 1 and out == ""
    assert str(db) in err and "is empty" in err and "Restore the profile from a backup" in err
    assert "Traceback" not in err
    assert db.read_bytes() == b""


def test_vault_check_reports_removed_newest_audit_entries(phr: Run, data_dir: Path) -> None:
    for _ in range(3):
        assert phr("unlock")[0] == 0
    with Profiles(data_dir).unlock("alex", passphrase=PASSPHRASE) as session:
        session.vault.conn.execute("DELETE FROM audit_log WHERE id > 2")
    code, out, _ = phr("vault", "check", "--json")
    report = orjson.loads(out)
    assert code == 1 and not report["ok"]
    # rows 1-2 kept, row 3 is this check's own unlock; the header's anchor remembers 5
    assert report["audit_chain"] == {"ok": False, "rows": 3, "first_broken_id": 4}
    code, out, _ = phr("audit", "--verify")
    assert "removed" in out
