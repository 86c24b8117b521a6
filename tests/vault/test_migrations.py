"""Schema migrations: upgrades from every saved schema, backup first, rollback, refusal of newer."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from phr_desktop.vault import migrations
from phr_desktop.vault.database import DatabaseError
from phr_desktop.vault.errors import VaultError
from phr_desktop.vault.keys import KdfParams
from phr_desktop.vault.vault import Vault

PASS = "passphrase for migrations"
SAVED = Path(__file__).resolve().parent.parent / "data" / "vaults"
SAVED_PASSPHRASES = {
    "schema1": "schema one passphrase",
    "schema4": "schema four passphrase",
    "schema5": "schema five passphrase",
    "schema6": "schema six passphrase",
}


def _version(vault: Vault) -> int:
    return int(vault.conn.execute("PRAGMA user_version").fetchone()[0])


def test_a_new_vault_is_at_the_latest_schema(tmp_path: Path) -> None:
    vault, _ = Vault.create(tmp_path / "p", PASS, KdfParams.minimum())
    with vault:
        assert _version(vault) == migrations.LATEST_VERSION


@pytest.mark.parametrize("saved", sorted(SAVED_PASSPHRASES))
def test_a_saved_vault_of_every_released_schema_upgrades_with_its_data(
    saved: str, tmp_path: Path
) -> None:
    folder = tmp_path / saved
    shutil.copytree(SAVED / saved, folder)
    with Vault.unlock(folder, passphrase=SAVED_PASSPHRASES[saved]) as vault:
        assert _version(vault) == migrations.LATEST_VERSION
        assert vault.conn.execute("SELECT count(*) FROM records").fetchone()[0] == 436
        note = vault.conn.execute("SELECT text FROM notes WHERE record_id = 1").fetchone()
        assert note == (f"a note written under schema {saved.removeprefix('schema')}",)
        assert vault.integrity_problems() == []
        assert vault.audit.verify().ok
    assert len(list(folder.glob("vault.before-v*.db"))) == 1  # backed up before upgrading


def _add_migration(monkeypatch: pytest.MonkeyPatch, sql: str) -> int:
    monkeypatch.setattr(migrations, "MIGRATIONS", [*migrations.MIGRATIONS, sql])
    monkeypatch.setattr(migrations, "LATEST_VERSION", len(migrations.MIGRATIONS))
    return len(migrations.MIGRATIONS)


def test_an_upgrade_backs_up_first_and_keeps_the_data(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = tmp_path / "p"
    vault, _ = Vault.create(folder, PASS, KdfParams.minimum())
    with vault:
        vault.conn.execute("INSERT INTO settings VALUES ('kept', 'yes')")
    before = migrations.LATEST_VERSION
    after = _add_migration(monkeypatch, "ALTER TABLE settings ADD COLUMN note TEXT;")
    with Vault.unlock(folder, passphrase=PASS) as upgraded:
        assert _version(upgraded) == after
        assert upgraded.conn.execute("SELECT value, note FROM settings").fetchall() == [
            ("yes", None)
        ]
    (backup,) = folder.glob(f"vault.before-v{after}-*.db")
    restored = tmp_path / "restored"
    restored.mkdir()
    backup.rename(restored / "vault.db")
    (restored / "header.json").write_bytes((folder / "header.json").read_bytes())
    monkeypatch.setattr(migrations, "MIGRATIONS", migrations.MIGRATIONS[:before])
    monkeypatch.setattr(migrations, "LATEST_VERSION", before)
    with Vault.unlock(restored, passphrase=PASS) as old:  # the backup has the old schema
        assert _version(old) == before


def test_a_failing_migration_rolls_back_and_leaves_the_old_schema(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = tmp_path / "p"
    Vault.create(folder, PASS, KdfParams.minimum())[0].close()
    before = migrations.LATEST_VERSION
    _add_migration(monkeypatch, "CREATE TABLE extra (x);\nINSERT INTO missing VALUES (1);")
    with pytest.raises(VaultError, match=r"rolled back.*as it was"):
        Vault.unlock(folder, passphrase=PASS)
    monkeypatch.setattr(migrations, "MIGRATIONS", migrations.MIGRATIONS[:before])
    monkeypatch.setattr(migrations, "LATEST_VERSION", before)
    with Vault.unlock(folder, passphrase=PASS) as vault:
        tables = {r[0] for r in vault.conn.execute("SELECT name FROM sqlite_master")}
        assert "extra" not in tables
        assert _version(vault) == before


def test_a_vault_from_a_newer_release_is_refused_with_a_clear_message(tmp_path: Path) -> None:
    folder = tmp_path / "p"
    vault, _ = Vault.create(folder, PASS, KdfParams.minimum())
    with vault:
        vault.conn.execute("PRAGMA user_version = 99")
    with pytest.raises(VaultError, match="newer phr-desktop"):
        Vault.unlock(folder, passphrase=PASS)


def test_schema_6_rebuilds_raw_resources_keeping_rows_ids_and_the_same_content_rule(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = tmp_path / "schema5"
    shutil.copytree(SAVED / "schema5", folder)
    with monkeypatch.context() as at_schema_5:
        at_schema_5.setattr(migrations, "MIGRATIONS", migrations.MIGRATIONS[:5])
        at_schema_5.setattr(migrations, "LATEST_VERSION", 5)
        with Vault.unlock(folder, passphrase=SAVED_PASSPHRASES["schema5"]) as old:
            assert _version(old) == 5
            before = old.conn.execute("SELECT * FROM raw_resources ORDER BY id").fetchall()
    with Vault.unlock(folder, passphrase=SAVED_PASSPHRASES["schema5"]) as vault:
        assert _version(vault) >= 6
        conn = vault.conn
        assert conn.execute("SELECT * FROM raw_resources ORDER BY id").fetchall() == before
        assert conn.execute("PRAGMA foreign_keys").fetchone() == (1,)
        assert conn.execute("PRAGMA foreign_key_check").fetchall() == []
        joined = "SELECT count(*) FROM records r JOIN raw_resources w ON w.id = r.raw_id"
        assert conn.execute(joined).fetchone() == (436,)
        indexes = {
            n for (n,) in conn.execute("SELECT name FROM pragma_index_list('raw_resources')")
        }
        assert indexes == {"raw_by_resource", "raw_by_fetched_at"}  # the latter: schema 12
        source_id, rid, rtype, sha = conn.execute(
            "SELECT source_id, resource_id, resource_type, sha256 FROM raw_resources LIMIT 1"
        ).fetchone()
        with pytest.raises(DatabaseError, match="UNIQUE"):  # the same content twice
            conn.execute(
                "INSERT INTO raw_resources (source_id, resource_type, resource_id, fetched_at, "
                "sha256, body) VALUES (?, ?, ?, 'now', ?, x'00')",
                (source_id, rtype, rid, sha),
            )


def test_schema_9_reads_restricted_from_the_raw_resources_already_stored(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A record stored before sensitivity existed, whose source marked it confidentiality R,
    is restricted after the upgrade; an unmarked one stays normal."""
    folder = tmp_path / "schema6"
    shutil.copytree(SAVED / "schema6", folder)
    before = migrations.MIGRATIONS[:8]
    with monkeypatch.context() as m:
        m.setattr(migrations, "MIGRATIONS", before)
        m.setattr(migrations, "LATEST_VERSION", len(before))
        with Vault.unlock(folder, passphrase=SAVED_PASSPHRASES["schema6"]) as vault:
            assert _version(vault) == 8
            raw_id = vault.conn.execute("SELECT raw_id FROM records WHERE id = 2").fetchone()[0]
            vault.conn.execute(
                "UPDATE raw_resources SET body = ? WHERE id = ?",
                (
                    b'{"resourceType":"Observation","id":"x","meta":{"security":[{"system":'
                    b'"http://terminology.hl7.org/CodeSystem/v3-Confidentiality","code":"R"}]}}',
                    raw_id,
                ),
            )
    with Vault.unlock(folder, passphrase=SAVED_PASSPHRASES["schema6"]) as vault:
        assert _version(vault) == migrations.LATEST_VERSION
        levels = dict(vault.conn.execute("SELECT id, source_sensitivity FROM records"))
        assert levels[2] == "restricted"
        assert sum(level == "restricted" for level in levels.values()) == 1
