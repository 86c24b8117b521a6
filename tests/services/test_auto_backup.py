"""Automatic backups: made after a change, at most once per interval, verified, rotated, and
told (no backup, an old one, a failure, another computer's newer backup)."""

from __future__ import annotations

import shutil
import stat
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from phr_desktop.services.auto_backup import AutoBackup
from phr_desktop.services.backup_status import BackupStatus, LastBackup
from phr_desktop.services.profiles import Profiles
from phr_desktop.services.restore import restore_backup
from phr_desktop.services.session import Session
from phr_desktop.vault.backup_copy import verify_backup
from tests.conftest import PASSPHRASE


class Clock:
    """A wall clock the test moves on."""

    def __init__(self) -> None:
        self.now = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, minutes: float) -> None:
        self.now += timedelta(minutes=minutes)


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def auto(session: Session, clock: Clock) -> AutoBackup:
    session.auto_backup = AutoBackup(session, clock=clock)
    return session.auto_backup


def backups(folder: Path) -> list[Path]:
    return sorted(folder.glob("phr-backup-*"))


def test_nothing_is_backed_up_until_a_folder_is_chosen(session: Session, auto: AutoBackup) -> None:
    session.add_note(None, "a change")
    assert not auto.due() and auto.run_if_due() is None
    assert "no backup yet" in " ".join(auto.status().warnings())


def test_a_change_is_backed_up_verified_and_the_newest_n_are_kept(
    session: Session, auto: AutoBackup, clock: Clock, tmp_path: Path
) -> None:
    folder = tmp_path / "backups"
    auto.turn_on(folder, keep=3)
    made: list[Path] = []
    for n in range(5):
        session.add_note(None, f"note {n}")
        outcome = auto.run_if_due()
        assert outcome is not None and outcome.ok, outcome
        assert outcome.path is not None
        made.append(outcome.path)
        clock.advance(6)
    assert backups(folder) == made[-3:]  # the two oldest rotated away
    for path in backups(folder):
        verify_backup(path, session.vault.data_key)
        assert stat.S_IMODE(path.stat().st_mode) == 0o700
        assert {stat.S_IMODE(f.stat().st_mode) for f in path.iterdir()} == {0o600}
    assert [p.name for p in folder.iterdir() if p.name.startswith(".")] == []
    assert auto.status().last_good == LastBackup(made[-1], clock.now - timedelta(minutes=6))


def test_no_change_no_backup_and_at_most_one_per_interval(
    session: Session, auto: AutoBackup, clock: Clock, tmp_path: Path
) -> None:
    auto.turn_on(tmp_path / "backups")
    session.add_note(None, "first")
    assert auto.run_if_due() is not None
    clock.advance(10)
    assert not auto.changed and auto.run_if_due() is None  # its own rows are not a change
    session.add_note(None, "second")
    clock.advance(0)
    assert auto.changed and auto.due()
    assert auto.run_if_due() is not None
    session.add_note(None, "third, soon after")
    clock.advance(2)
    assert auto.changed and not auto.due()
    clock.advance(3)
    assert auto.due()
    assert len(backups(tmp_path / "backups")) == 2


def test_a_change_left_at_close_is_backed_up_by_the_next_session(
    profiles: Profiles, session: Session, auto: AutoBackup, tmp_path: Path
) -> None:
    auto.turn_on(tmp_path / "backups")
    session.add_note(None, "backed up")
    assert auto.run_if_due() is not None
    session.add_note(None, "not yet: too soon")
    assert not auto.due()
    session.close()
    with profiles.unlock("alex", passphrase=PASSPHRASE) as reopened:
        assert reopened.auto_backup.changed


def test_a_failed_backup_is_a_warning_kept_until_the_next_success(
    session: Session, auto: AutoBackup, clock: Clock, tmp_path: Path, demo_files: list[Path]
) -> None:
    folder = tmp_path / "usb-drive"
    auto.turn_on(folder)
    shutil.rmtree(folder)  # the drive was unplugged
    report = session.import_paths(demo_files)
    outcome = auto.run_if_due()
    assert outcome is not None and not outcome.ok
    assert outcome.error is not None and str(folder) in outcome.error
    assert "not there" in outcome.error
    warnings = " ".join(auto.status().warnings())
    assert "The last backup failed" in warnings and str(folder) in warnings
    assert report.failed == [] and session.records()  # the import it followed stands
    folder.mkdir()
    clock.advance(6)
    assert auto.run_if_due() is not None
    assert auto.status().failure is None and auto.status().warnings(clock.now) == []


def test_a_full_disk_is_reported_as_one_and_leaves_nothing(
    session: Session, auto: AutoBackup, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import errno

    folder = tmp_path / "backups"
    auto.turn_on(folder)
    session.add_note(None, "x")

    def full(*_args: object) -> None:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr("phr_desktop.vault.backup_copy.write_atomically", full)
    outcome = auto.run_now()
    assert outcome.error is not None and "the disk is full" in outcome.error
    assert list(folder.iterdir()) == []


def test_the_status_warns_with_no_backup_and_with_one_older_than_a_week(tmp_path: Path) -> None:
    now = datetime(2026, 3, 10, tzinfo=UTC)
    never = BackupStatus(None, 10, None, None, None)
    assert "no backup yet" in never.warnings(now)[0]
    recent = LastBackup(tmp_path, now - timedelta(days=6))
    assert BackupStatus(tmp_path, 10, recent, None, None).warnings(now) == []
    old = LastBackup(tmp_path, now - timedelta(days=8))
    (warning,) = BackupStatus(tmp_path, 10, old, None, None).warnings(now)
    assert "8 days old" in warning and "2026-03-02" in warning


def test_keep_must_be_at_least_one(auto: AutoBackup, tmp_path: Path) -> None:
    from phr_desktop.services.errors import ServiceError

    with pytest.raises(ServiceError, match="at least one"):
        auto.turn_on(tmp_path / "b", keep=0)


def test_turning_off_stops_backups_and_keeps_the_ones_made(
    session: Session, auto: AutoBackup, clock: Clock, tmp_path: Path
) -> None:
    auto.turn_on(tmp_path / "backups")
    session.add_note(None, "x")
    assert auto.run_if_due() is not None
    auto.turn_off()
    session.add_note(None, "y")
    clock.advance(60)
    assert auto.run_if_due() is None and len(backups(tmp_path / "backups")) == 1


@pytest.fixture
def second_computer(
    session: Session, auto: AutoBackup, clock: Clock, tmp_path: Path
) -> Iterator[tuple[Session, Path]]:
    """The profile restored from its newest backup on another computer (its own data folder)."""
    folder = tmp_path / "cloud-folder"
    auto.turn_on(folder, keep=1)
    session.add_note(None, "made on the first computer")
    assert auto.run_if_due() is not None
    other = Profiles(tmp_path / "other-computer")
    restore_backup(other, folder, passphrase=PASSPHRASE)
    with other.unlock("alex", passphrase=PASSPHRASE) as restored:
        yield restored, folder


def test_a_backup_made_on_another_computer_after_ours_is_named_and_not_removed(
    session: Session, auto: AutoBackup, clock: Clock, second_computer: tuple[Session, Path]
) -> None:
    restored, folder = second_computer
    restored.auto_backup.clock = clock  # both computers' clocks agree
    clock.advance(6)
    # The first computer's backups are older than the restore: no conflict there.
    assert restored.auto_backup.status().elsewhere is None
    restored.add_note(None, "made on the second computer")
    theirs = restored.auto_backup.run_now()
    assert theirs.ok and theirs.elsewhere is None and theirs.path is not None
    assert len(backups(folder)) == 1  # keep=1: the first computer's older one was rotated

    session.add_note(None, "the first computer again")
    clock.advance(6)
    ours = auto.run_if_due()
    assert ours is not None and ours.ok
    assert ours.elsewhere is not None and theirs.path.name in ours.elsewhere
    assert "two computers" in ours.elsewhere
    assert theirs.path.exists()  # named in the warning, never rotated away (keep=1)
    assert theirs.path.name in " ".join(auto.status().warnings())

    session.add_note(None, "and again")  # a later backup of ours does not hide it
    clock.advance(6)
    assert auto.run_if_due() is not None
    assert theirs.path.name in " ".join(auto.status().warnings())
    auto.turn_on(folder, keep=1)  # choosing the folder again: the patient has seen it
    assert auto.status().elsewhere is None


def test_no_backup_is_due_while_a_write_is_under_way(
    session: Session, auto: AutoBackup, tmp_path: Path
) -> None:
    auto.turn_on(tmp_path / "backups")
    session.add_note(None, "committed")
    conn = session.vault.conn
    conn.execute("BEGIN IMMEDIATE")
    try:
        assert auto.changed and not auto.due()
    finally:
        conn.execute("ROLLBACK")
    assert auto.due()


def test_a_backup_holds_only_what_was_committed(
    profiles: Profiles, session: Session, auto: AutoBackup, tmp_path: Path
) -> None:
    auto.turn_on(tmp_path / "backups")
    session.add_note(None, "committed")
    plan = auto.plan()
    conn = session.vault.conn
    conn.execute("BEGIN IMMEDIATE")  # an import's transaction on a worker, say
    try:
        conn.execute("INSERT INTO notes (text, created_at, updated_at) VALUES ('open', 'x', 'x')")
        outcome = auto.execute(plan)
    finally:
        conn.execute("ROLLBACK")
    assert outcome.ok and outcome.path is not None
    other = Profiles(tmp_path / "other")
    restore_backup(other, outcome.path, passphrase=PASSPHRASE)
    with other.unlock("alex", passphrase=PASSPHRASE) as restored:
        notes = [t for (t,) in restored.vault.conn.execute("SELECT text FROM notes")]
    assert notes == ["committed"]
