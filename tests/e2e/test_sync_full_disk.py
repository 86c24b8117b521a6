"""A sync onto a full disk, against the real SMART server: it says the disk is full (not that
the vault is damaged), keeps what was stored before, and finishes once there is room."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from phr_desktop.services.errors import StorageFull
from phr_desktop.services.profiles import Profiles
from tests.conftest import PASSPHRASE
from tests.e2e.test_smart_sync import _connect
from tests.full_disk import disk_filled, small_disk

__all__ = ["small_disk"]  # the fixture, re-exported so pytest finds it in this module


def test_a_sync_onto_a_full_disk_says_so_and_finishes_once_there_is_room(
    small_disk: Path, fast_kdf: None, start_smart_server: Any, synthea_seed: Path
) -> None:
    server = start_smart_server(synthea_seed)
    profiles = Profiles(small_disk / "data")
    session, _ = profiles.create("e2e", PASSPHRASE)
    with session:
        _connect(session, server)
        with disk_filled(small_disk), pytest.raises(StorageFull) as refused:
            session.connections.sync()
        message = str(refused.value)
        assert "the disk is full" in message and "damaged" not in message
        assert session.check().problems == []
        report = session.connections.sync()["Local SMART"]
        assert not report.failed, report.outcomes
        assert report.counts.new > 0
