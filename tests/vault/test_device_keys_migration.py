"""Schema 3 (device keys): a connection saved under schema 2 upgrades with its sign-in intact and
no device key; the key then saved is read back only through `device_key`."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from phr_desktop.vault import migrations
from phr_desktop.vault.connections import ConnectionStore, StoredTokens
from phr_desktop.vault.keys import KdfParams
from phr_desktop.vault.vault import Vault

PASS = "passphrase for device keys"


def test_a_schema_2_connection_upgrades_and_then_keeps_a_device_key(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = tmp_path / "p"
    with monkeypatch.context() as old_release:
        old_release.setattr(migrations, "MIGRATIONS", migrations.MIGRATIONS[:2])
        old_release.setattr(migrations, "LATEST_VERSION", 2)
        vault, _ = Vault.create(folder, PASS, KdfParams.minimum())
        with vault:
            assert vault.conn.execute("PRAGMA user_version").fetchone()[0] == 2
            vault.conn.execute(
                "INSERT INTO sources (kind, name, created_at) VALUES ('smart', 'Epic', 'now')"
            )
            store = ConnectionStore(vault.conn)
            connection_id = store.add("Epic", "https://ehr.example/fhir", "app", 1, "p1", "s", {})
            store.save_tokens(connection_id, StoredTokens("access", "refresh", 1.0, None))

    with Vault.unlock(folder, passphrase=PASS) as upgraded:
        assert (
            upgraded.conn.execute("PRAGMA user_version").fetchone()[0] == migrations.LATEST_VERSION
        )
        store = ConnectionStore(upgraded.conn)
        (connection,) = store.all()
        assert connection.dynamic_client_id is None
        assert store.device_key(connection.id) is None
        assert store.tokens(connection.id) == StoredTokens("access", "refresh", 1.0, None)

        private_jwk = json.dumps({"kty": "RSA", "d": "secret-part"})
        store.save_device_key(connection.id, "dyn-1", private_jwk)
        again = store.by_name("Epic")
        assert again is not None and again.dynamic_client_id == "dyn-1"
        assert "secret-part" not in repr(again)
        assert store.device_key(connection.id) == ("dyn-1", private_jwk)
