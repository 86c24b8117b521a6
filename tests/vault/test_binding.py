"""The database is bound to its header: an empty, truncated, replaced or foreign `vault.db` is
refused with a message naming the file, and nothing is written to it; saved vaults of every
earlier schema still open and are bound on upgrade."""

from __future__ import annotations

import hashlib
import shutil
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import orjson
import pytest

from phr_desktop.vault.binding import bind, new_database_id
from phr_desktop.vault.database import open_database, transaction
from phr_desktop.vault.errors import VaultDamaged
from phr_desktop.vault.header import NO_AUDIT, load_header
from phr_desktop.vault.keys import KdfParams
from phr_desktop.vault.migrations import migrate
from phr_desktop.vault.vault import DB_NAME, HEADER_NAME, Vault
from tests.vault.test_migrations import SAVED, SAVED_PASSPHRASES

PASS = "a passphrase for binding"


def _files(folder: Path) -> dict[str, str]:
    """Every file of the profile but the lock and the attempts counter, by content."""
    return {
        p.name: hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.iterdir())
        if p.name not in ("vault.lock", "unlock-attempts.json")
    }


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    """A vault with a few hundred rows, so its database spans many pages."""
    path = tmp_path / "person"
    vault, _ = Vault.create(path, PASS, KdfParams.minimum())
    with vault, transaction(vault.conn):
        for n in range(300):
            vault.conn.execute("INSERT INTO settings VALUES (?, ?)", (f"k{n}", "v" * 200))
    return path


def _data_key(folder: Path) -> bytes:
    with Vault.unlock(folder, passphrase=PASS) as vault:
        return vault.data_key


def _empty(folder: Path) -> None:
    (folder / DB_NAME).write_bytes(b"")


def _truncated_at_a_page_boundary(folder: Path) -> None:
    db = folder / DB_NAME
    data = db.read_bytes()
    assert len(data) > 8 * 4096
    db.write_bytes(data[: 4 * 4096])


def _another_profiles(folder: Path) -> None:
    other, _ = Vault.create(folder.parent / "other", PASS, KdfParams.minimum())
    other.close()
    shutil.copyfile(folder.parent / "other" / DB_NAME, folder / DB_NAME)


def _a_new_database_under_the_same_key(folder: Path) -> None:
    """What someone holding the key (or a bug) would make: a whole schema, another id."""
    key = _data_key(folder)
    header = load_header(folder / HEADER_NAME)
    (folder / DB_NAME).unlink()
    conn = open_database(folder / DB_NAME, key, create=True)
    migrate(conn, folder / DB_NAME)
    with transaction(conn):
        bind(conn, header, key, new_database_id())
    conn.close()


def _a_keyed_database_with_no_schema(folder: Path) -> None:
    key = _data_key(folder)
    (folder / DB_NAME).unlink()
    conn = open_database(folder / DB_NAME, key, create=True)
    conn.execute("CREATE TABLE scratch (x)")
    conn.close()


REPLACEMENTS: dict[str, tuple[Callable[[Path], None], str]] = {
    "empty": (_empty, "is empty"),
    "truncated at a page boundary": (_truncated_at_a_page_boundary, "malformed"),
    "another profile's": (_another_profiles, "not a database"),
    "a new database under the same key": (_a_new_database_under_the_same_key, "another database"),
    "a keyed file with no vault schema": (_a_keyed_database_with_no_schema, "holds no vault"),
}


@pytest.mark.parametrize("case", sorted(REPLACEMENTS))
def test_a_vault_file_that_is_not_this_headers_is_refused_and_left_as_it_is(
    case: str, folder: Path
) -> None:
    replace_database, why = REPLACEMENTS[case]
    replace_database(folder)
    before = _files(folder)
    with pytest.raises(VaultDamaged) as refused:
        Vault.unlock(folder, passphrase=PASS)
    message = str(refused.value)
    assert str(folder / DB_NAME) in message and why in message
    assert "Restore the profile from a backup" in message
    assert _files(folder) == before  # no schema, no audit row, no journal: nothing written


def test_a_refused_database_stays_refused_on_every_later_try(folder: Path) -> None:
    _empty(folder)
    for _ in range(3):
        with pytest.raises(VaultDamaged, match="is empty"):
            Vault.unlock(folder, passphrase=PASS)
    assert (folder / DB_NAME).stat().st_size == 0


def test_a_new_vault_names_its_database_in_the_header_and_the_database_agrees(
    folder: Path,
) -> None:
    header = load_header(folder / HEADER_NAME)
    assert header.database_id
    with Vault.unlock(folder, passphrase=PASS) as vault:
        (stored,) = vault.conn.execute("SELECT database_id FROM vault_binding").fetchall()
        assert stored == (header.database_id,)


def test_the_database_id_in_the_header_is_under_its_mac(folder: Path) -> None:
    path = folder / HEADER_NAME
    body = orjson.loads(path.read_bytes())
    body["database_id"] = new_database_id()
    body.pop("checksum")
    body["checksum"] = hashlib.sha256(orjson.dumps(body, option=orjson.OPT_SORT_KEYS)).hexdigest()
    path.write_bytes(orjson.dumps(body))
    with pytest.raises(VaultDamaged, match="signature"):
        Vault.unlock(folder, passphrase=PASS)


def test_a_backup_of_the_profile_is_the_same_database_and_opens(
    folder: Path, tmp_path: Path
) -> None:
    with Vault.unlock(folder, passphrase=PASS) as vault:
        vault.backup(tmp_path / "copy.db")
    shutil.copyfile(tmp_path / "copy.db", folder / DB_NAME)
    with Vault.unlock(folder, passphrase=PASS) as vault:
        assert vault.conn.execute("SELECT count(*) FROM settings").fetchone() == (300,)


@pytest.mark.parametrize("saved", sorted(SAVED_PASSPHRASES))
def test_a_saved_vault_of_every_earlier_schema_is_bound_on_upgrade(
    saved: str, tmp_path: Path
) -> None:
    folder = tmp_path / saved
    shutil.copytree(SAVED / saved, folder)
    assert not load_header(folder / HEADER_NAME).database_id  # saved before binding existed
    with Vault.unlock(folder, passphrase=SAVED_PASSPHRASES[saved]) as vault:
        assert vault.conn.execute("SELECT count(*) FROM records").fetchone() == (436,)
    database_id = load_header(folder / HEADER_NAME).database_id
    assert database_id
    with Vault.unlock(folder, passphrase=SAVED_PASSPHRASES[saved]) as vault:
        assert vault.conn.execute("SELECT database_id FROM vault_binding").fetchone() == (
            database_id,
        )
        assert vault.audit.verify().ok
    _empty(folder)  # and from now on it is protected like a new one
    with pytest.raises(VaultDamaged, match="is empty"):
        Vault.unlock(folder, passphrase=SAVED_PASSPHRASES[saved])


def test_the_copy_kept_before_the_upgrade_still_opens_and_is_seen_as_older(
    tmp_path: Path,
) -> None:
    folder = tmp_path / "schema6"
    shutil.copytree(SAVED / "schema6", folder)
    passphrase = SAVED_PASSPHRASES["schema6"]
    with Vault.unlock(folder, passphrase=passphrase) as upgraded:
        # Something happens after the upgrade. (Without it, the upgrade of the copy put back
        # can write, within the same second, the very rows the first one wrote: then the copy
        # is not older in any way the chain could show.)
        upgraded.audit.append("backup")
    (kept,) = folder.glob("vault.before-v*.db")
    shutil.copyfile(kept, folder / DB_NAME)
    for side in ("-wal", "-shm"):
        Path(str(folder / DB_NAME) + side).unlink(missing_ok=True)
    with Vault.unlock(folder, passphrase=passphrase) as vault:
        assert vault.conn.execute("SELECT count(*) FROM records").fetchone() == (436,)
        report = vault.audit.verify()
    assert not report.ok and "older copy" in report.reason


def test_a_crash_between_binding_the_database_and_writing_the_header_is_recovered(
    folder: Path,
) -> None:
    """The upgrade binds the database first, then names it in the header; a header still
    without the id (written before binding, sealed with the key) adopts the database's."""
    key = _data_key(folder)
    bound = load_header(folder / HEADER_NAME)
    replace(bound, database_id="", audit=NO_AUDIT).sealed(key).save(folder / HEADER_NAME)
    assert not load_header(folder / HEADER_NAME).database_id
    with Vault.unlock(folder, passphrase=PASS) as vault:
        assert vault.audit.verify().ok
    assert load_header(folder / HEADER_NAME).database_id == bound.database_id
