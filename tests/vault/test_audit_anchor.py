"""The header anchors the audit chain (its length and newest MAC, under the header MAC), so
removing the newest rows, or putting back an older copy of the database, is detected."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from phr_desktop.vault.database import transaction
from phr_desktop.vault.header import load_header
from phr_desktop.vault.keys import KdfParams
from phr_desktop.vault.vault import DB_NAME, HEADER_NAME, Vault

PASS = "passphrase for the audit anchor"


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    path = tmp_path / "p"
    vault, _ = Vault.create(path, PASS, KdfParams.minimum())
    with vault:
        for n in range(5):
            vault.audit.append("import", resources=n)
    return path  # rows: create, 5 imports


def _anchor_rows(folder: Path) -> int:
    return load_header(folder / HEADER_NAME).audit.rows


def test_each_row_committed_on_its_own_moves_the_anchor_at_once(folder: Path) -> None:
    with Vault.unlock(folder, passphrase=PASS) as vault:
        assert _anchor_rows(folder) == 7  # create, 5 imports, unlock
        vault.audit.append("export", records=1)
        assert _anchor_rows(folder) == 8


def test_rows_written_inside_a_transaction_are_anchored_by_close_at_the_latest(
    folder: Path,
) -> None:
    with Vault.unlock(folder, passphrase=PASS) as vault:
        with transaction(vault.conn):
            vault.audit.append("import", resources=9)
        assert _anchor_rows(folder) == 7
    assert _anchor_rows(folder) == 8


def test_removing_the_newest_rows_is_detected(folder: Path) -> None:
    with Vault.unlock(folder, passphrase=PASS) as vault:
        assert vault.audit.verify().ok
        vault.conn.execute("DELETE FROM audit_log WHERE id >= 5")  # the last 3 of 7 rows
        report = vault.audit.verify()
    assert not report.ok
    assert report.rows == 4 and report.first_broken_id == 5
    assert "newest 3 entries were removed" in report.reason


def test_rows_removed_and_written_on_are_still_detected_in_a_later_session(
    folder: Path,
) -> None:
    with Vault.unlock(folder, passphrase=PASS) as vault:
        vault.conn.execute("DELETE FROM audit_log WHERE id >= 5")
    for _ in range(4):  # each unlock writes a row again where the removed ones were
        with Vault.unlock(folder, passphrase=PASS) as vault:
            report = vault.audit.verify()
        assert not report.ok, "the cut-back chain was accepted once new rows covered the cut"
    assert _anchor_rows(folder) == 7  # the evidence is not overwritten


def test_an_older_copy_of_the_database_is_detected(folder: Path, tmp_path: Path) -> None:
    with Vault.unlock(folder, passphrase=PASS) as vault:
        vault.backup(tmp_path / "older.db")
        vault.audit.append("share_created", records=3)
    shutil.copyfile(tmp_path / "older.db", folder / DB_NAME)
    with Vault.unlock(folder, passphrase=PASS) as vault:
        report = vault.audit.verify()
    assert not report.ok and "older copy" in report.reason


def test_an_untouched_chain_still_verifies_after_many_sessions(folder: Path) -> None:
    for _ in range(3):
        with Vault.unlock(folder, passphrase=PASS) as vault:
            vault.audit.append("export", records=2)
    with Vault.unlock(folder, passphrase=PASS) as vault:
        report = vault.audit.verify()
    assert report.ok and report.rows == 13  # 6, then an unlock and an export 3 times, 1


def test_a_chain_longer_than_its_anchor_is_accepted(folder: Path) -> None:
    """A crash after a row is committed but before the header is written leaves the anchor
    behind; that is not tampering."""
    with Vault.unlock(folder, passphrase=PASS) as vault:
        header_before = (folder / HEADER_NAME).read_bytes()
        vault.audit.append("export", records=1)
        (folder / HEADER_NAME).write_bytes(header_before)  # as if the header write was lost
    with Vault.unlock(folder, passphrase=PASS) as vault:
        assert vault.audit.verify().ok
