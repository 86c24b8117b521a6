"""A disk that is full, read-only or failing is told apart from damage. These run anywhere:
ENOSPC is injected at the OS boundary (the real full disk is `tests/services/test_full_disk.py`,
which needs root)."""

from __future__ import annotations

import errno
from pathlib import Path

import pytest
import sqlcipher3

from phr_desktop.vault.errors import StorageError, StorageFull, WrongPassphrase
from phr_desktop.vault.keys import KdfParams
from phr_desktop.vault.storage_errors import is_storage_problem, storage_error
from phr_desktop.vault.vault import Vault

PASS = "storage errors passphrase"


@pytest.mark.parametrize(
    ("code", "kind", "says"),
    [
        (errno.ENOSPC, StorageFull, "the disk is full"),
        (errno.EDQUOT, StorageFull, "the disk is full"),
        (errno.EROFS, StorageError, "the disk or folder is read-only"),
        (errno.EACCES, StorageError, "permission was denied"),
        (errno.EIO, StorageError, "the disk reported an input/output error"),
    ],
)
def test_an_os_error_says_what_the_disk_did_and_that_nothing_changed(
    code: int, kind: type[StorageError], says: str
) -> None:
    error = storage_error(OSError(code, "x"), "save it")
    assert type(error) is kind
    assert str(error).startswith(f"Could not save it: {says}")
    assert "Nothing was changed." in str(error)


def _sqlite_error(sql: str, conn: sqlcipher3.Connection) -> sqlcipher3.DatabaseError:
    try:
        conn.execute(sql)
    except sqlcipher3.DatabaseError as exc:
        return exc
    raise AssertionError("no error")


def test_sqlite_full_is_storage_and_corruption_is_not() -> None:
    conn = sqlcipher3.connect(":memory:")
    conn.execute("CREATE TABLE t (x)")
    conn.execute("PRAGMA max_page_count = 2")
    full = _sqlite_error("INSERT INTO t VALUES (zeroblob(100000))", conn)
    assert is_storage_problem(full) and isinstance(storage_error(full, "x"), StorageFull)
    broken = _sqlite_error("SELECT * FROM missing", conn)
    assert not is_storage_problem(broken)


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    path = tmp_path / "p"
    Vault.create(path, PASS, KdfParams.minimum())[0].close()
    return path


def no_space_for_small_files(monkeypatch: pytest.MonkeyPatch) -> None:
    """From now on every atomic file write (header, counter) fails as on a full disk."""

    def full(_fd: int) -> None:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr("phr_desktop.vault.files.os.fsync", full)


@pytest.fixture
def disk_full_for_small_files(monkeypatch: pytest.MonkeyPatch) -> None:
    no_space_for_small_files(monkeypatch)


def test_a_passphrase_change_that_cannot_be_saved_keeps_the_old_passphrase(
    folder: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with Vault.unlock(folder, passphrase=PASS) as vault:
        no_space_for_small_files(monkeypatch)
        with pytest.raises(StorageFull, match="old passphrase still unlocks"):
            vault.change_passphrase("another passphrase", KdfParams.minimum())
        monkeypatch.undo()
    Vault.unlock(folder, passphrase=PASS).close()


def test_a_wrong_passphrase_that_cannot_be_counted_is_still_wrong(
    folder: Path, disk_full_for_small_files: None
) -> None:
    with pytest.raises(WrongPassphrase, match=r"does not unlock.*disk is full"):
        Vault.unlock(folder, passphrase="not it")


def test_a_right_passphrase_opens_even_when_the_counter_cannot_be_written(
    folder: Path, disk_full_for_small_files: None
) -> None:
    Vault.unlock(folder, passphrase=PASS).close()
