"""A full disk is not a damaged vault: on a real, full filesystem (a small tmpfs), unlock,
import, export, share, backup, passphrase change and profile creation each say the disk is
full and that nothing was changed; once space is freed everything is as it was."""

from __future__ import annotations

import gc
from collections.abc import Iterator
from pathlib import Path

import pytest

from phr_desktop.services.errors import StorageError, StorageFull, VaultDamaged, WrongPassphrase
from phr_desktop.services.exporting import export
from phr_desktop.services.profiles import Profiles
from phr_desktop.services.session import Session
from phr_desktop.services.share_history import list_shares
from phr_desktop.services.sharing import ShareSelection, create_share
from tests.conftest import PASSPHRASE
from tests.full_disk import disk_filled, small_disk

__all__ = ["small_disk"]  # the fixture, re-exported so pytest finds it in this module


@pytest.fixture
def on_disk(small_disk: Path, fast_kdf: None, demo_files: list[Path]) -> Profiles:
    """A profile with the demo record, on the small disk, closed."""
    profiles = Profiles(small_disk / "data")
    session, _ = profiles.create("alex", PASSPHRASE)
    with session:
        session.import_paths(demo_files)
    return profiles


@pytest.fixture
def opened(on_disk: Profiles) -> Iterator[Session]:
    with on_disk.unlock("alex", passphrase=PASSPHRASE) as session:
        yield session


def _state(session: Session) -> tuple[dict[str, int], int]:
    audit_rows = session.vault.conn.execute("SELECT count(*) FROM audit_log").fetchone()[0]
    return session.counts_by_kind(), audit_rows


def _assert_is_full_not_damaged(error: BaseException) -> None:
    assert isinstance(error, StorageFull) and not isinstance(error, VaultDamaged)
    assert "the disk is full" in str(error) and "Free some space" in str(error)
    assert "damaged" not in str(error) and "Restore" not in str(error)


def test_unlocking_on_a_full_disk_says_so_and_opens_once_there_is_room(
    on_disk: Profiles, small_disk: Path
) -> None:
    with disk_filled(small_disk), pytest.raises(StorageError) as refused:
        on_disk.unlock("alex", passphrase=PASSPHRASE)
    _assert_is_full_not_damaged(refused.value)
    with on_disk.unlock("alex", passphrase=PASSPHRASE) as session:
        assert sum(session.counts_by_kind().values()) > 0
        assert session.check().ok


def test_a_wrong_passphrase_on_a_full_disk_is_still_reported_as_wrong(
    on_disk: Profiles, small_disk: Path
) -> None:
    with disk_filled(small_disk), pytest.raises(WrongPassphrase) as refused:
        on_disk.unlock("alex", passphrase="not the passphrase")
    assert "does not unlock" in str(refused.value) and "disk is full" in str(refused.value)


def test_importing_on_a_full_disk_rolls_back_and_says_so(
    opened: Session, small_disk: Path, tmp_path: Path, demo_files: list[Path]
) -> None:
    before = _state(opened)
    bigger = tmp_path / "again.json"  # the same records under new ids: all new rows
    bigger.write_bytes(demo_files[0].read_bytes().replace(b'"id": "', b'"id": "x'))
    with disk_filled(small_disk), pytest.raises(StorageError) as refused:
        opened.import_paths([bigger])
    _assert_is_full_not_damaged(refused.value)
    assert _state(opened)[0] == before[0]
    assert opened.check().problems == []


def test_exporting_onto_a_full_disk_says_so_and_leaves_no_partial_file(
    opened: Session, small_disk: Path
) -> None:
    before = _state(opened)
    target = small_disk / "exports" / "record.pdf"
    target.parent.mkdir()
    with disk_filled(small_disk), pytest.raises(StorageError) as refused:
        export(opened, "pdf", target)
    gc.collect()  # a file the export left open is found (and warned of) here, not later
    _assert_is_full_not_damaged(refused.value)
    assert list(target.parent.iterdir()) == []
    assert _state(opened) == before


def test_sharing_onto_a_full_disk_makes_no_share(opened: Session, small_disk: Path) -> None:
    target = small_disk / "for-dr.phrshare"
    with disk_filled(small_disk), pytest.raises(StorageError) as refused:
        create_share(opened, target, ShareSelection(kinds=("problem",)), "Dr Rivera")
    _assert_is_full_not_damaged(refused.value)
    assert list_shares(opened) == [] and not target.exists()


def test_a_backup_onto_a_full_disk_leaves_no_partial_copy(
    opened: Session, small_disk: Path
) -> None:
    folder = small_disk / "backup"
    with disk_filled(small_disk), pytest.raises(StorageError) as refused:
        opened.backup(folder)
    _assert_is_full_not_damaged(refused.value)
    assert not folder.exists() or list(folder.iterdir()) == []


def test_changing_the_passphrase_on_a_full_disk_keeps_the_old_one(
    on_disk: Profiles, small_disk: Path
) -> None:
    with on_disk.unlock("alex", passphrase=PASSPHRASE) as session:
        with disk_filled(small_disk), pytest.raises(StorageError) as refused:
            session.change_passphrase("a brand new passphrase")
        _assert_is_full_not_damaged(refused.value)
        assert "old passphrase still unlocks" in str(refused.value)
    on_disk.unlock("alex", passphrase=PASSPHRASE).close()


def test_creating_a_profile_on_a_full_disk_leaves_nothing_behind(
    on_disk: Profiles, small_disk: Path
) -> None:
    with disk_filled(small_disk), pytest.raises(StorageError) as refused:
        on_disk.create("sam", PASSPHRASE)
    _assert_is_full_not_damaged(refused.value)
    assert on_disk.names() == ["alex"]
    assert sorted(p.name for p in on_disk.root.iterdir()) == ["alex"]
