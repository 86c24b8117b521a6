"""Restore: a new profile from a backup (the newest in a folder, or one named), with the
passphrase or the recovery key; never over an existing profile; from every earlier schema;
and on a second computer the same records, notes, connections (tokens still encrypted) and
share history."""

from __future__ import annotations

import hashlib
import shutil
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from phr_desktop.services.auto_backup import AutoBackup
from phr_desktop.services.errors import ServiceError
from phr_desktop.services.profiles import Profiles
from phr_desktop.services.restore import restore_backup
from phr_desktop.services.session import Session
from phr_desktop.services.share_history import list_shares
from phr_desktop.services.sharing import ShareSelection, create_share
from phr_desktop.vault import migrations
from phr_desktop.vault.connections import ConnectionStore, StoredTokens
from phr_desktop.vault.database import transaction
from phr_desktop.vault.errors import VaultDamaged, WrongPassphrase
from tests.conftest import DATA, PASSPHRASE

SAVED = DATA / "vaults"
SAVED_PASSPHRASES = {
    "schema1": "schema one passphrase",
    "schema4": "schema four passphrase",
    "schema5": "schema five passphrase",
    "schema6": "schema six passphrase",
}
ACCESS_TOKEN = "access-token-Zq81sOmething-unique"
REFRESH_TOKEN = "refresh-token-Yp72sOmething-unique"


def _notes(session: Session) -> list[str]:
    return [str(t) for (t,) in session.vault.conn.execute("SELECT text FROM notes ORDER BY id")]


def _digest(folder: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.iterdir())}


def _two_backups(session: Session, folder: Path) -> list[Path]:
    """A backup after the first note, another after the second (later by the clock)."""
    start = datetime(2026, 3, 1, tzinfo=UTC)
    ticks = (start + timedelta(hours=n) for n in range(1000))
    auto = AutoBackup(session, clock=lambda: next(ticks), min_interval=timedelta(0))
    auto.turn_on(folder)
    made = []
    for text in ("the first note", "the second note"):
        session.add_note(None, text)
        outcome = auto.run_now()
        assert outcome.ok and outcome.path is not None
        made.append(outcome.path)
    return made


def test_the_newest_backup_in_a_folder_is_restored_with_the_passphrase(
    session: Session, tmp_path: Path, demo_files: list[Path]
) -> None:
    session.import_paths(demo_files)
    _two_backups(session, tmp_path / "backups")
    other = Profiles(tmp_path / "new-computer")
    report = restore_backup(other, tmp_path / "backups", passphrase=PASSPHRASE)
    assert report.profile == "alex"  # the backup's own profile name
    with other.unlock("alex", passphrase=PASSPHRASE) as restored:
        assert _notes(restored) == ["the first note", "the second note"]
        assert len(restored.records()) == len(session.records()) > 0
        assert restored.check().ok


def test_one_named_backup_is_restored_with_the_recovery_key(
    profiles: Profiles, fast_kdf: None, tmp_path: Path
) -> None:
    session, recovery_key = profiles.create("sam", PASSPHRASE)
    with session:
        first, _second = _two_backups(session, tmp_path / "backups")
    report = restore_backup(profiles, first, name="sam-then", recovery_key=recovery_key)
    assert report.profile == "sam-then" and report.backup == first
    with profiles.unlock("sam-then", recovery_key=recovery_key) as restored:
        assert _notes(restored) == ["the first note"]
        assert restored.verify_audit().ok


def test_a_restore_never_replaces_an_existing_profile(
    profiles: Profiles, session: Session, tmp_path: Path
) -> None:
    _two_backups(session, tmp_path / "backups")
    session.add_note(None, "only in the live profile")
    session.close()
    before = _digest(profiles.path("alex"))
    for name in ("alex", None):  # named, or the backup's own name
        with pytest.raises(ServiceError, match=r"already exists.*never replaces"):
            restore_backup(profiles, tmp_path / "backups", name=name, passphrase=PASSPHRASE)
    assert _digest(profiles.path("alex")) == before
    assert profiles.names() == ["alex"] and not list(profiles.root.glob(".restoring-*"))


def test_a_wrong_passphrase_leaves_no_profile_and_the_backup_untouched(
    profiles: Profiles, session: Session, tmp_path: Path
) -> None:
    _first, second = _two_backups(session, tmp_path / "backups")
    before = _digest(second)
    other = Profiles(tmp_path / "new-computer")
    with pytest.raises(WrongPassphrase):
        restore_backup(other, tmp_path / "backups", passphrase="not it")
    assert other.names() == [] and not list(other.root.glob(".*"))
    assert _digest(second) == before


def test_a_folder_without_backups_is_told_apart(profiles: Profiles, tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    with pytest.raises(ServiceError, match="holds no backup"):
        restore_backup(profiles, tmp_path / "empty", passphrase=PASSPHRASE)
    with pytest.raises(ServiceError, match="There is no backup at"):
        restore_backup(profiles, tmp_path / "missing", passphrase=PASSPHRASE)


def test_a_damaged_backup_is_refused_and_leaves_no_profile(
    profiles: Profiles, session: Session, tmp_path: Path
) -> None:
    first, second = _two_backups(session, tmp_path / "backups")
    db = second / "vault.db"
    data = bytearray(db.read_bytes())
    data[len(data) // 2] ^= 0xFF
    db.write_bytes(bytes(data))
    other = Profiles(tmp_path / "new-computer")
    with pytest.raises(VaultDamaged, match="damaged") as refused:
        restore_backup(other, tmp_path / "backups", passphrase=PASSPHRASE)
    assert f"phr vault restore {first}" in str(refused.value)  # the one before it
    assert other.names() == []
    restore_backup(other, first, passphrase=PASSPHRASE)
    assert other.names() == ["alex"]


def test_a_profile_folder_copied_while_open_restores_with_its_write_ahead_log(
    profiles: Profiles, session: Session, tmp_path: Path
) -> None:
    session.add_note(None, "only in the write-ahead log so far")
    copy = tmp_path / "copied-while-open"
    shutil.copytree(profiles.path("alex"), copy)
    assert (copy / "vault.db-wal").stat().st_size > 0
    other = Profiles(tmp_path / "new-computer")
    restore_backup(other, copy, passphrase=PASSPHRASE)
    with other.unlock("Restored", passphrase=PASSPHRASE) as restored:
        assert _notes(restored) == ["only in the write-ahead log so far"]


@pytest.mark.parametrize("saved", sorted(SAVED_PASSPHRASES))
def test_a_vault_of_every_earlier_schema_restores_upgraded_with_its_data(
    saved: str, tmp_path: Path
) -> None:
    backup = tmp_path / saved
    shutil.copytree(SAVED / saved, backup)
    before = _digest(backup)
    profiles = Profiles(tmp_path / "data")
    report = restore_backup(profiles, backup, name="old", passphrase=SAVED_PASSPHRASES[saved])
    assert report.profile == "old" and report.made is None
    with profiles.unlock("old", passphrase=SAVED_PASSPHRASES[saved]) as restored:
        version = restored.vault.conn.execute("PRAGMA user_version").fetchone()[0]
        assert version == migrations.LATEST_VERSION
        # 436 records, 433 shown: the two demo practices share the patient, the AATD diagnosis
        # and the penicillin allergy, each listed once (one fact once)
        assert len(restored.records()) == 433
        assert _notes(restored) == [f"a note written under schema {saved.removeprefix('schema')}"]
        assert restored.check().ok
    assert _digest(backup) == before  # the backup is only read


def test_a_second_computer_gets_the_same_records_notes_connections_and_shares(
    session: Session, tmp_path: Path, demo_files: list[Path]
) -> None:
    session.import_paths(demo_files)
    session.add_note(None, "my own words")
    store = ConnectionStore(session.vault.conn)
    with transaction(session.vault.conn):
        source_id = session.vault.conn.execute(
            "INSERT INTO sources (name, kind, created_at) VALUES ('Clinic', 'smart', '2026') "
            "RETURNING id"
        ).fetchone()[0]
        connection_id = store.add(
            "Clinic", "https://fhir.example/r4", "app", source_id, "p1", "patient/*.read", {}
        )
        store.save_tokens(
            connection_id, StoredTokens(ACCESS_TOKEN, REFRESH_TOKEN, 2_000_000_000.0, None)
        )
    create_share(session, tmp_path / "s.phrshare", ShareSelection(kinds=("problem",)), "Dr R")
    outcome = session.auto_backup.run_now(tmp_path / "cloud")
    assert outcome.ok and outcome.path is not None
    for file in outcome.path.iterdir():  # tokens are inside the encrypted copy only
        assert ACCESS_TOKEN.encode() not in file.read_bytes()
        assert REFRESH_TOKEN.encode() not in file.read_bytes()

    other = Profiles(tmp_path / "second-computer")
    restore_backup(other, tmp_path / "cloud", passphrase=PASSPHRASE)
    with other.unlock("alex", passphrase=PASSPHRASE) as restored:
        assert [s.record for s in restored.records()] == [s.record for s in session.records()]
        assert _notes(restored) == _notes(session)
        (connection,) = ConnectionStore(restored.vault.conn).all()
        assert connection.name == "Clinic"
        tokens = ConnectionStore(restored.vault.conn).tokens(connection.id)
        assert tokens is not None and tokens.refresh_token == REFRESH_TOKEN
        assert [s.id for s in list_shares(restored)] == [s.id for s in list_shares(session)]
        assert restored.verify_audit().ok
        actions = [e.action for e in restored.audit_entries()]
        assert "restore" in actions


def test_a_restored_vault_is_bound_to_its_header(
    profiles: Profiles, fast_kdf: None, tmp_path: Path
) -> None:
    session, _ = profiles.create("sam", PASSPHRASE)
    with session:
        session.add_note(None, "x")
        session.auto_backup.run_now(tmp_path / "b")
    other = Profiles(tmp_path / "other")
    restore_backup(other, tmp_path / "b", passphrase=PASSPHRASE)
    with other.unlock("sam", passphrase=PASSPHRASE) as restored:
        assert restored.vault.header.database_id == session.vault.header.database_id
        assert restored.vault.header.profile_id == session.vault.header.profile_id
