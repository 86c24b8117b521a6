"""Unlocking: passphrase, recovery key, throttling, passphrase change, and refusals."""

from __future__ import annotations

import hashlib
import stat
from pathlib import Path

import orjson
import pytest

from phr_desktop.vault.errors import (
    TooManyAttempts,
    VaultBusy,
    VaultDamaged,
    VaultNotFound,
    WrongPassphrase,
    WrongRecoveryKey,
)
from phr_desktop.vault.keys import (
    MAX_MEMORY_KIB,
    MIN_MEMORY_KIB,
    MIN_TIME_COST,
    KdfParams,
    calibrate_kdf,
    format_recovery_key,
    new_recovery_secret,
    parse_recovery_key,
)
from phr_desktop.vault.vault import DB_NAME, HEADER_NAME, Vault

PASS = "a long enough passphrase"


def _digest(folder: Path) -> dict[str, str]:
    return {
        p.name: hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.iterdir())
        if p.suffix != ".lock" and p.name != "unlock-attempts.json"
    }


@pytest.fixture
def vault_dir(tmp_path: Path) -> tuple[Path, str]:
    folder = tmp_path / "person"
    vault, recovery = Vault.create(folder, PASS, KdfParams.minimum())
    with vault:
        vault.conn.execute("INSERT INTO settings VALUES ('marker', 'kept')")
    return folder, recovery


def _marker(vault: Vault) -> str:
    return vault.conn.execute("SELECT value FROM settings WHERE key = 'marker'").fetchone()[0]


def test_the_passphrase_unlocks_the_vault(vault_dir: tuple[Path, str]) -> None:
    folder, _ = vault_dir
    with Vault.unlock(folder, passphrase=PASS) as vault:
        assert _marker(vault) == "kept"


def test_wrong_passphrase_is_refused_and_vault_untouched(vault_dir: tuple[Path, str]) -> None:
    folder, _ = vault_dir
    before = _digest(folder)
    with pytest.raises(WrongPassphrase, match="does not unlock this profile"):
        Vault.unlock(folder, passphrase="not it")
    assert _digest(folder) == before


def test_after_five_wrong_tries_the_next_must_wait_and_the_wait_grows(
    vault_dir: tuple[Path, str],
) -> None:
    folder, _ = vault_dir
    now = [1000.0]
    clock = lambda: now[0]  # noqa: E731
    for _ in range(5):
        with pytest.raises(WrongPassphrase):
            Vault.unlock(folder, passphrase="guess", clock=clock)
    with pytest.raises(TooManyAttempts) as first:
        Vault.unlock(folder, passphrase=PASS, clock=clock)  # even the right one must wait
    assert first.value.wait_seconds == pytest.approx(2.0)
    now[0] += 2.0
    with pytest.raises(WrongPassphrase):
        Vault.unlock(folder, passphrase="guess again", clock=clock)
    with pytest.raises(TooManyAttempts) as second:
        Vault.unlock(folder, passphrase=PASS, clock=clock)
    assert second.value.wait_seconds == pytest.approx(4.0)
    now[0] += 4.0
    with Vault.unlock(folder, passphrase=PASS, clock=clock) as vault:
        assert _marker(vault) == "kept"
    Vault.unlock(folder, passphrase=PASS, clock=clock).close()  # success reset the counter


def test_recovery_key_unlocks_whatever_the_case_and_spacing(vault_dir: tuple[Path, str]) -> None:
    folder, recovery = vault_dir
    typed = recovery.lower().replace("-", " ")
    with Vault.unlock(folder, recovery_key=typed) as vault:
        assert _marker(vault) == "kept"


def test_a_mistyped_recovery_key_names_the_group_with_the_typo(vault_dir: tuple[Path, str]) -> None:
    folder, recovery = vault_dir
    groups = recovery.split("-")
    wrong = "0" if groups[2][1] != "0" else "1"
    groups[2] = groups[2][0] + wrong + groups[2][2:]
    with pytest.raises(WrongRecoveryKey, match="Group 3"):
        Vault.unlock(folder, recovery_key="-".join(groups))


def test_every_single_symbol_typo_in_a_recovery_key_is_caught() -> None:
    secret = new_recovery_secret()
    text = format_recovery_key(secret).replace("-", "")
    alphabet = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
    for position in range(len(text)):
        for symbol in alphabet:
            if symbol == text[position]:
                continue
            typo = text[:position] + symbol + text[position + 1 :]
            with pytest.raises(WrongRecoveryKey):
                parse_recovery_key(typo)
    assert parse_recovery_key(text) == secret


def test_a_recovery_key_of_another_profile_is_refused(
    vault_dir: tuple[Path, str], tmp_path: Path
) -> None:
    folder, _ = vault_dir
    other, other_recovery = Vault.create(tmp_path / "other", PASS, KdfParams.minimum())
    other.close()
    with pytest.raises(WrongRecoveryKey, match="another profile"):
        Vault.unlock(folder, recovery_key=other_recovery)


def test_changing_the_passphrase_rewraps_the_key_without_reencrypting(
    vault_dir: tuple[Path, str],
) -> None:
    folder, recovery = vault_dir
    with Vault.unlock(folder, passphrase=PASS) as vault:
        vault.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        db_before = hashlib.sha256((folder / DB_NAME).read_bytes()).hexdigest()
        vault.change_passphrase("the new passphrase", KdfParams.minimum())
        db_after = hashlib.sha256((folder / DB_NAME).read_bytes()).hexdigest()
    assert db_before == db_after
    with pytest.raises(WrongPassphrase):
        Vault.unlock(folder, passphrase=PASS)
    with Vault.unlock(folder, passphrase="the new passphrase") as vault:
        assert _marker(vault) == "kept"
    Vault.unlock(folder, recovery_key=recovery).close()  # the recovery key still works


def _edit_header(folder: Path, edit) -> None:  # type: ignore[no-untyped-def]
    path = folder / HEADER_NAME
    body = orjson.loads(path.read_bytes())
    edit(body)
    path.write_bytes(orjson.dumps(body))


def test_a_hand_edited_header_is_reported_as_damaged(vault_dir: tuple[Path, str]) -> None:
    folder, _ = vault_dir

    def weaken(body: dict) -> None:  # type: ignore[type-arg]
        body["kdf"]["memory_kib"] = MIN_MEMORY_KIB * 2

    _edit_header(folder, weaken)
    with pytest.raises(VaultDamaged, match="checksum"):
        Vault.unlock(folder, passphrase=PASS)


def test_a_header_edited_with_its_checksum_fixed_is_still_caught(
    vault_dir: tuple[Path, str],
) -> None:
    folder, _ = vault_dir

    def swap_recovery_wrap(body: dict) -> None:  # type: ignore[type-arg]
        body["wraps"]["recovery"]["nonce"] = body["wraps"]["passphrase"]["nonce"]
        body.pop("checksum")
        canonical = orjson.dumps(body, option=orjson.OPT_SORT_KEYS)
        body["checksum"] = hashlib.sha256(canonical).hexdigest()

    _edit_header(folder, swap_recovery_wrap)
    # The passphrase still unwraps the key, and the header MAC then exposes the edit.
    with pytest.raises(VaultDamaged, match="signature"):
        Vault.unlock(folder, passphrase=PASS)


def test_kdf_parameters_outside_the_bounds_are_refused_before_any_work(
    vault_dir: tuple[Path, str],
) -> None:
    folder, _ = vault_dir

    def huge(body: dict) -> None:  # type: ignore[type-arg]
        body["kdf"]["memory_kib"] = MAX_MEMORY_KIB * 64
        body.pop("checksum")
        body["checksum"] = hashlib.sha256(
            orjson.dumps(body, option=orjson.OPT_SORT_KEYS)
        ).hexdigest()

    _edit_header(folder, huge)
    with pytest.raises(VaultDamaged, match="out of bounds"):
        Vault.unlock(folder, passphrase=PASS)


def test_unreadable_header_is_reported_as_damaged(vault_dir: tuple[Path, str]) -> None:
    folder, _ = vault_dir
    (folder / HEADER_NAME).write_bytes(b"{ not json")
    with pytest.raises(VaultDamaged, match="header"):
        Vault.unlock(folder, passphrase=PASS)


def test_a_truncated_vault_file_is_reported_and_left_as_it_is(vault_dir: tuple[Path, str]) -> None:
    folder, _ = vault_dir
    db = folder / DB_NAME
    db.write_bytes(db.read_bytes()[:1000])
    before = db.read_bytes()
    with pytest.raises(VaultDamaged, match="damaged, truncated"):
        Vault.unlock(folder, passphrase=PASS)
    assert db.read_bytes() == before


def test_a_flipped_byte_in_a_page_is_caught_by_the_page_hmac(vault_dir: tuple[Path, str]) -> None:
    folder, _ = vault_dir
    db = folder / DB_NAME
    data = bytearray(db.read_bytes())
    data[4096 + 200] ^= 0xFF  # inside page 2, which holds the settings table
    db.write_bytes(bytes(data))
    try:
        vault = Vault.unlock(folder, passphrase=PASS)
    except VaultDamaged:
        return  # caught at open: fine
    with vault:
        assert vault.integrity_problems(), "the damaged page went unnoticed"


def test_a_missing_vault_file_is_reported_and_not_recreated(vault_dir: tuple[Path, str]) -> None:
    folder, _ = vault_dir
    (folder / DB_NAME).unlink()
    with pytest.raises(VaultNotFound, match="missing"):
        Vault.unlock(folder, passphrase=PASS)
    assert not (folder / DB_NAME).exists()


def test_a_missing_header_is_reported(vault_dir: tuple[Path, str]) -> None:
    folder, _ = vault_dir
    (folder / HEADER_NAME).unlink()
    with pytest.raises(VaultNotFound, match="header is missing"):
        Vault.unlock(folder, passphrase=PASS)


def test_a_second_writer_on_the_same_profile_gets_a_clear_message(
    vault_dir: tuple[Path, str],
) -> None:
    folder, _ = vault_dir
    with Vault.unlock(folder, passphrase=PASS), pytest.raises(VaultBusy, match="already open"):
        Vault.unlock(folder, passphrase=PASS)
    Vault.unlock(folder, passphrase=PASS).close()  # released on close


def test_vault_files_are_readable_by_the_owner_only(vault_dir: tuple[Path, str]) -> None:
    folder, _ = vault_dir
    with Vault.unlock(folder, passphrase=PASS):
        for path in folder.iterdir():
            if path.suffix == ".lock":
                continue
            mode = stat.S_IMODE(path.stat().st_mode)
            assert mode & 0o077 == 0, f"{path.name} is {oct(mode)}"
    assert stat.S_IMODE(folder.stat().st_mode) & 0o077 == 0


def test_the_vault_really_is_sqlcipher_with_page_hmac(vault_dir: tuple[Path, str]) -> None:
    folder, _ = vault_dir
    assert not (folder / DB_NAME).read_bytes().startswith(b"SQLite format 3")
    with Vault.unlock(folder, passphrase=PASS) as vault:
        assert vault.conn.execute("PRAGMA cipher_version").fetchone()[0].startswith("4.")
        settings = {row[0] for row in vault.conn.execute("PRAGMA cipher_settings")}
        assert "PRAGMA cipher_use_hmac = 1;" in settings
        assert vault.conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert vault.conn.execute("PRAGMA synchronous").fetchone()[0] == 2  # FULL
        assert vault.integrity_problems() == []


def test_calibration_stays_within_the_bounds() -> None:
    params = calibrate_kdf(target_seconds=0.01)
    assert params.memory_kib >= MIN_MEMORY_KIB and params.time_cost >= MIN_TIME_COST
    assert params.within_bounds()


def test_a_backup_opens_with_the_same_key(vault_dir: tuple[Path, str], tmp_path: Path) -> None:
    folder, _ = vault_dir
    copy = tmp_path / "copy"
    copy.mkdir()
    with Vault.unlock(folder, passphrase=PASS) as vault:
        vault.backup(copy / DB_NAME)
    (copy / HEADER_NAME).write_bytes((folder / HEADER_NAME).read_bytes())
    with Vault.unlock(copy, passphrase=PASS) as restored:
        assert _marker(restored) == "kept"


def test_a_wait_under_one_second_is_never_shown_as_0_s(vault_dir: tuple[Path, str]) -> None:
    folder, _ = vault_dir
    now = [1000.0]
    clock = lambda: now[0]  # noqa: E731
    for _ in range(5):
        with pytest.raises(WrongPassphrase):
            Vault.unlock(folder, passphrase="guess", clock=clock)
    now[0] += 1.7  # 0.3 s of the 2 s wait are left
    with pytest.raises(TooManyAttempts) as refused:
        Vault.unlock(folder, passphrase=PASS, clock=clock)
    assert "Wait 1 s" in str(refused.value) and "0 s" not in str(refused.value)
    assert "after 1 s" in str(WrongPassphrase(0.2))
    assert "after" not in str(WrongPassphrase(0.0))


def _set_time_cost_and_fix_the_checksum(folder: Path, time_cost: int) -> None:
    def edit(body: dict) -> None:  # type: ignore[type-arg]
        body["kdf"]["time_cost"] = time_cost
        body.pop("checksum")
        body["checksum"] = hashlib.sha256(
            orjson.dumps(body, option=orjson.OPT_SORT_KEYS)
        ).hexdigest()

    _edit_header(folder, edit)


def test_a_header_edited_within_the_kdf_bounds_is_reported_and_not_counted_as_a_guess(
    vault_dir: tuple[Path, str],
) -> None:
    folder, _ = vault_dir
    Vault.unlock(folder, passphrase=PASS).close()  # this device has seen the real header
    original = (folder / HEADER_NAME).read_bytes()
    _set_time_cost_and_fix_the_checksum(folder, MIN_TIME_COST + 1)
    for _ in range(7):  # more than the free tries: none of them is counted
        with pytest.raises(VaultDamaged, match=r"header .* is not the one last unlocked") as err:
            Vault.unlock(folder, passphrase=PASS)
    assert "not counted as a wrong passphrase" in str(err.value)
    (folder / HEADER_NAME).write_bytes(original)
    with Vault.unlock(folder, passphrase=PASS) as vault:  # no wait: nothing was counted
        assert _marker(vault) == "kept"


def test_a_header_changed_by_a_passphrase_change_here_is_the_known_one(
    vault_dir: tuple[Path, str],
) -> None:
    folder, _ = vault_dir
    with Vault.unlock(folder, passphrase=PASS) as vault:
        vault.change_passphrase("the new passphrase", KdfParams.minimum())
    with pytest.raises(WrongPassphrase):  # the old one is simply wrong now, and counted
        Vault.unlock(folder, passphrase=PASS)
    Vault.unlock(folder, passphrase="the new passphrase").close()


def test_a_header_mac_of_non_ascii_text_is_a_bad_signature_not_a_crash(
    vault_dir: tuple[Path, str],
) -> None:
    folder, _ = vault_dir

    def odd_mac(body: dict) -> None:  # type: ignore[type-arg]
        body["mac"] = "\x80é"
        body.pop("checksum")
        body["checksum"] = hashlib.sha256(
            orjson.dumps(body, option=orjson.OPT_SORT_KEYS)
        ).hexdigest()

    _edit_header(folder, odd_mac)
    with pytest.raises(VaultDamaged, match="signature"):
        Vault.unlock(folder, passphrase=PASS)
