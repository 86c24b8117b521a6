"""`phr vault auto-backup`, `phr vault restore`, the backup after a command that changed the
profile, and `phr vault check`'s report of the last good backup."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import orjson
import pytest

from tests.cli_runner import Run, cli_runner
from tests.conftest import DEMO_DIR, PASSPHRASE


@pytest.fixture
def phr(
    data_dir: Path,
    fast_kdf: None,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> Run:
    return cli_runner(
        monkeypatch, capsys, data_dir, PASSPHRASE, env={"PHR_PROFILE": "alex"},
        unset=("PHR_RECOVERY_KEY",),
    )  # fmt: skip


@pytest.fixture
def recovery_key(phr: Run) -> str:
    code, out, _ = phr("--json", "profile", "create", "alex")
    assert code == 0
    return str(orjson.loads(out)["recovery_key"])


@pytest.fixture
def no_wait(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every change may be backed up at once (the interval is minutes in real use)."""
    monkeypatch.setattr("phr_desktop.services.auto_backup.MIN_INTERVAL", timedelta(0))


def backups(folder: Path) -> list[Path]:
    return sorted(folder.glob("phr-backup-*"))


def test_auto_backup_makes_one_at_once_then_after_each_change(
    phr: Run, recovery_key: str, tmp_path: Path, no_wait: None
) -> None:
    folder = tmp_path / "drive"
    code, out, _ = phr("vault", "auto-backup", str(folder), "--keep", "2")
    assert code == 0 and "Automatic backups are on" in out and len(backups(folder)) == 1
    demo = sorted(DEMO_DIR.glob("*.json"))
    for path in demo:
        assert phr("import", str(path))[0] == 0
    assert len(backups(folder)) == 2  # three made, the oldest rotated
    assert phr("records")[0] == 0
    assert len(backups(folder)) == 2  # reading changes nothing: no new backup
    code, out, _ = phr("--json", "vault", "check")
    report = orjson.loads(out)["backup"]
    assert report["folder"] == str(folder) and report["keep"] == 2
    assert report["last_good"]["path"] == str(backups(folder)[-1])
    assert report["warnings"] == []
    code, out, _ = phr("vault", "check")
    assert "Last good backup: " in out and str(backups(folder)[-1]) in out


def test_a_change_too_soon_after_a_backup_is_backed_up_by_a_later_command(
    phr: Run, recovery_key: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = tmp_path / "drive"
    assert phr("vault", "auto-backup", str(folder))[0] == 0
    assert phr("import", str(sorted(DEMO_DIR.glob("*.json"))[0]))[0] == 0
    assert len(backups(folder)) == 1  # within minutes of the first: not yet
    monkeypatch.setattr("phr_desktop.services.auto_backup.MIN_INTERVAL", timedelta(0))
    assert phr("records")[0] == 0  # nothing changed now, but the import is still pending
    assert len(backups(folder)) == 2


def test_a_failed_backup_warns_and_the_import_still_succeeds(
    phr: Run, recovery_key: str, tmp_path: Path, no_wait: None
) -> None:
    folder = tmp_path / "drive"
    assert phr("vault", "auto-backup", str(folder))[0] == 0
    for child in folder.iterdir():
        for file in child.iterdir():
            file.unlink()
        child.rmdir()
    folder.rmdir()  # the drive is gone
    code, _, err = phr("import", str(sorted(DEMO_DIR.glob("*.json"))[0]))
    assert code == 0
    assert "Warning: the automatic backup failed" in err and str(folder) in err
    assert "Traceback" not in err
    code, out, _ = phr("vault", "check")
    assert "The last backup failed" in out and "Last good backup: none" not in out


def test_auto_backup_off_and_a_folder_or_off_is_needed(
    phr: Run, recovery_key: str, tmp_path: Path, no_wait: None
) -> None:
    folder = tmp_path / "drive"
    assert phr("vault", "auto-backup", str(folder))[0] == 0
    code, out, _ = phr("vault", "auto-backup", "--off")
    assert code == 0 and "off" in out
    assert phr("import", str(sorted(DEMO_DIR.glob("*.json"))[0]))[0] == 0
    assert len(backups(folder)) == 1
    code, _, err = phr("vault", "auto-backup")
    assert code == 1 and "Give the backup FOLDER, or --off" in err


def test_vault_check_warns_when_there_is_no_backup(phr: Run, recovery_key: str) -> None:
    code, out, _ = phr("vault", "check")
    assert code == 0
    assert "Automatic backups: off" in out and "Last good backup: none" in out
    assert "Warning: This profile has no backup yet" in out


def test_restore_with_the_passphrase_or_the_recovery_key_never_over_a_profile(
    phr: Run, recovery_key: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = tmp_path / "drive"
    assert phr("import", str(sorted(DEMO_DIR.glob("*.json"))[0]))[0] == 0
    assert phr("vault", "auto-backup", str(folder))[0] == 0

    code, _, err = phr("vault", "restore", str(folder))
    assert code == 1 and "'alex' already exists" in err and "never replaces" in err

    code, out, _ = phr("--json", "vault", "restore", str(folder), "--as", "alex-copy")
    assert code == 0
    assert orjson.loads(out)["profile"] == "alex-copy"
    assert orjson.loads(out)["backup"] == str(backups(folder)[0])

    monkeypatch.setenv("PHR_RECOVERY_KEY", recovery_key)
    monkeypatch.delenv("PHR_PASSPHRASE")
    code, out, _ = phr("vault", "restore", str(backups(folder)[0]), "--as", "by-key")
    assert code == 0 and "Restored profile 'by-key'" in out and "one computer" in out
    _, alex, _ = phr("--json", "--profile", "alex", "records")
    _, copy, _ = phr("--json", "--profile", "by-key", "records")
    assert orjson.loads(copy) == orjson.loads(alex) and orjson.loads(alex)


def test_restore_with_a_wrong_passphrase_says_so_and_leaves_nothing(
    phr: Run, recovery_key: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = tmp_path / "drive"
    assert phr("vault", "auto-backup", str(folder))[0] == 0
    monkeypatch.setenv("PHR_PASSPHRASE", "not the passphrase")
    code, _, err = phr("vault", "restore", str(folder), "--as", "other")
    assert code == 1 and "passphrase does not unlock" in err
    _, out, _ = phr("--json", "profile", "list")
    assert orjson.loads(out)["profiles"] == ["alex"]


def test_a_backup_that_cannot_even_start_is_a_warning_not_a_failed_import(
    phr: Run, recovery_key: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from phr_desktop.services.auto_backup import AutoBackup
    from phr_desktop.services.errors import StorageFull

    assert phr("vault", "auto-backup", str(tmp_path / "drive"))[0] == 0

    def full(_self: AutoBackup) -> None:
        raise StorageFull("Could not save this change: the disk is full.")

    monkeypatch.setattr(AutoBackup, "run_if_due", full)
    code, out, err = phr("--json", "import", str(sorted(DEMO_DIR.glob("*.json"))[0]))
    assert code == 0 and orjson.loads(out)["files"][0]["status"] == "imported"
    assert "Warning: the automatic backup failed: Could not save" in err


def test_vault_backup_checks_its_copy_before_calling_it_done(
    phr: Run, recovery_key: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import phr_desktop.services.session as session_module

    real_write = session_module.write_output_bytes

    def damaged_on_the_way(path: Path, data: bytes) -> Path:
        return real_write(path, data.replace(b'"mac": "', b'"mac": "0'))

    assert phr("vault", "backup", str(tmp_path / "good"))[0] == 0
    monkeypatch.setattr(session_module, "write_output_bytes", damaged_on_the_way)
    code, out, err = phr("vault", "backup", str(tmp_path / "bad"))
    assert code == 1 and "Encrypted backup written" not in out
    assert "does not check out, so do not rely on it" in err and "Traceback" not in err
