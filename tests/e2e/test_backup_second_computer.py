"""A second computer, end to end against the real SMART server: the profile restored from
its newest backup has the same records, and its connection (tokens carried encrypted in the
backup) syncs again without signing in, also after the server expired the access token."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from phr_desktop.services.profiles import Profiles
from phr_desktop.services.restore import restore_backup
from phr_desktop.services.session import Session
from phr_desktop.vault.connections import ConnectionStore
from tests.conftest import PASSPHRASE
from tests.e2e.smart_login import connect_through_login

CLIENT_ID = "phr-desktop-test"


@pytest.fixture
def first_computer(profiles: Profiles, fast_kdf: None) -> Iterator[Session]:
    session, _ = profiles.create("pat", PASSPHRASE)
    with session:
        yield session


def test_the_restored_profile_has_the_records_and_its_connection_still_syncs(
    first_computer: Session, start_smart_server, synthea_seed: Path, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    server = start_smart_server(synthea_seed)
    connect_through_login(first_computer, server)
    first_computer.connections.sync()
    folder = tmp_path / "cloud-folder"
    first_computer.auto_backup.turn_on(folder)
    outcome = first_computer.auto_backup.run_now()
    assert outcome.ok and outcome.path is not None
    store = ConnectionStore(first_computer.vault.conn)
    (connection,) = store.all()
    tokens = store.tokens(connection.id)
    assert tokens is not None and tokens.refresh_token
    for file in outcome.path.iterdir():  # the tokens travel encrypted only
        data = file.read_bytes()
        assert tokens.access_token.encode() not in data
        assert tokens.refresh_token.encode() not in data

    second = Profiles(tmp_path / "second-computer")
    restore_backup(second, folder, passphrase=PASSPHRASE)
    with second.unlock("pat", passphrase=PASSPHRASE) as restored:
        assert [s.record for s in restored.records()] == [
            s.record for s in first_computer.records()
        ]
        server.put_resource(
            {
                "resourceType": "Condition",
                "id": "after-the-move",
                "subject": {"reference": f"Patient/{server.patient}"},
                "code": {"text": "Noted after the move to a new computer"},
                "onsetDateTime": "2026-01-05",
            }
        )
        server.expire_access_tokens()  # the restored refresh token must do the work
        report = restored.connections.sync()["Local SMART"]
        assert not report.reconnect_needed
        assert restored.search("after the move")
