"""Schema migrations: applied in order, backed up first, and a newer schema is refused."""

from __future__ import annotations

from pathlib import Path

import pytest

from phr_desktop.vault import migrations
from phr_desktop.vault.errors import VaultError
from phr_desktop.vault.keys import KdfParams
from phr_desktop.vault.vault import Vault

PASS = "passphrase for migrations"


def test_a_new_vault_is_at_the_latest_schema(tmp_path: Path) -> None:
    vault, _ = Vault.create(tmp_path / "p", PASS, KdfParams.minimum())
    with vault:
        version = vault.conn.execute("PRAGMA user_version").fetchone()[0]
    assert version == migrations.LATEST_VERSION


def test_an_upgrade_backs_up_first_and_keeps_the_data(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = tmp_path / "p"
    vault, _ = Vault.create(folder, PASS, KdfParams.minimum())
    with vault:
        vault.conn.execute("INSERT INTO settings VALUES ('kept', 'yes')")
    # A future schema 2, as a later release would ship it.
    monkeypatch.setattr(
        migrations,
        "MIGRATIONS",
        [*migrations.MIGRATIONS, "ALTER TABLE settings ADD COLUMN note TEXT;"],
    )
    monkeypatch.setattr(migrations, "LATEST_VERSION", len(migrations.MIGRATIONS))
    with Vault.unlock(folder, passphrase=PASS) as upgraded:
        assert upgraded.conn.execute("PRAGMA user_version").fetchone()[0] == 2
        assert upgraded.conn.execute("SELECT value, note FROM settings").fetchall() == [
            ("yes", None)
        ]
    (backup,) = folder.glob("vault.before-v2-*.db")
    backup_folder = tmp_path / "restored"
    backup_folder.mkdir()
    backup.rename(backup_folder / "vault.db")
    (backup_folder / "header.json").write_bytes((folder / "header.json").read_bytes())
    monkeypatch.setattr(migrations, "MIGRATIONS", migrations.MIGRATIONS[:1])
    monkeypatch.setattr(migrations, "LATEST_VERSION", 1)
    with Vault.unlock(backup_folder, passphrase=PASS) as old:  # the backup is the old schema
        assert old.conn.execute("PRAGMA user_version").fetchone()[0] == 1


def test_a_failing_migration_rolls_back_and_leaves_the_old_schema(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = tmp_path / "p"
    Vault.create(folder, PASS, KdfParams.minimum())[0].close()
    monkeypatch.setattr(
        migrations,
        "MIGRATIONS",
        [*migrations.MIGRATIONS, "CREATE TABLE extra (x);\nINSERT INTO missing VALUES (1);"],
    )
    monkeypatch.setattr(migrations, "LATEST_VERSION", 2)
    with pytest.raises(VaultError, match=r"rolled back.*as it was"):
        Vault.unlock(folder, passphrase=PASS)
    monkeypatch.setattr(migrations, "MIGRATIONS", migrations.MIGRATIONS[:1])
    monkeypatch.setattr(migrations, "LATEST_VERSION", 1)
    with Vault.unlock(folder, passphrase=PASS) as vault:
        tables = {r[0] for r in vault.conn.execute("SELECT name FROM sqlite_master")}
        assert "extra" not in tables
        assert vault.conn.execute("PRAGMA user_version").fetchone()[0] == 1


def test_a_vault_from_a_newer_release_is_refused_with_a_clear_message(tmp_path: Path) -> None:
    folder = tmp_path / "p"
    vault, _ = Vault.create(folder, PASS, KdfParams.minimum())
    with vault:
        vault.conn.execute("PRAGMA user_version = 99")
    with pytest.raises(VaultError, match="newer phr-desktop"):
        Vault.unlock(folder, passphrase=PASS)
