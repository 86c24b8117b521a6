"""Profiles: a folder per person; a broken one is named with the file to restore, and a
create that fails leaves nothing behind."""

from __future__ import annotations

import errno
import os
from pathlib import Path

import pytest

from phr_desktop.services.errors import StorageFull, VaultNotFound
from phr_desktop.services.profiles import Profiles
from tests.conftest import PASSPHRASE


def test_a_profile_whose_header_is_missing_is_listed_and_says_which_file_is_missing(
    profiles: Profiles, fast_kdf: None
) -> None:
    profiles.create("alex", PASSPHRASE)[0].close()
    header = profiles.path("alex") / "header.json"
    header.unlink()
    assert profiles.names() == ["alex"]
    with pytest.raises(VaultNotFound) as missing:
        profiles.unlock("alex", passphrase=PASSPHRASE)
    assert "no profile named" not in str(missing.value)
    assert str(header) in str(missing.value) and "backup" in str(missing.value)


def test_an_unknown_name_is_still_no_profile_named(profiles: Profiles) -> None:
    with pytest.raises(VaultNotFound, match="no profile named 'nobody'"):
        profiles.unlock("nobody", passphrase=PASSPHRASE)


def test_a_create_that_cannot_write_its_header_leaves_nothing_behind(
    profiles: Profiles, fast_kdf: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    real_fsync = os.fsync

    def full_disk_at_the_header(fd: int) -> None:
        if os.readlink(f"/proc/self/fd/{fd}").endswith("header.json.tmp"):
            raise OSError(errno.ENOSPC, "No space left on device")
        real_fsync(fd)

    monkeypatch.setattr("phr_desktop.vault.files.os.fsync", full_disk_at_the_header)
    with pytest.raises(StorageFull, match=r"disk is full.*Nothing was left behind"):
        profiles.create("alex", PASSPHRASE)
    assert profiles.names() == []
    assert list(profiles.root.iterdir()) == []
    monkeypatch.undo()
    profiles.create("alex", PASSPHRASE)[0].close()  # the name is free to use again
    assert profiles.names() == ["alex"]


def test_a_hidden_folder_left_by_a_crashed_create_is_not_a_profile(
    profiles: Profiles, fast_kdf: None
) -> None:
    profiles.create("alex", PASSPHRASE)[0].close()
    (profiles.path("alex")).rename(profiles.root / ".alex.creating-x")
    assert profiles.names() == []
    profiles.create("alex", PASSPHRASE)[0].close()
    assert profiles.names() == ["alex"]


def test_a_profile_folder_is_private_and_complete_once_create_returns(
    profiles: Profiles, fast_kdf: None
) -> None:
    session, _ = profiles.create("alex", PASSPHRASE)
    with session:
        folder: Path = profiles.path("alex")
        assert {"header.json", "vault.db"} <= {p.name for p in folder.iterdir()}
        assert folder.stat().st_mode & 0o077 == 0
