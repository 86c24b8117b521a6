"""The audit chain catches edits and deletions; the keyring is used only when it is secure."""

from __future__ import annotations

from pathlib import Path

import keyring.backends.fail
import pytest
from keyring.backend import KeyringBackend

from phr_desktop.vault.errors import KeyringRefused
from phr_desktop.vault.keyring_store import recall_data_key, remember_data_key, secure_backend
from phr_desktop.vault.keys import KdfParams
from phr_desktop.vault.vault import Vault


@pytest.fixture
def vault(tmp_path: Path):  # type: ignore[no-untyped-def]
    created, _ = Vault.create(tmp_path / "p", "passphrase words", KdfParams.minimum())
    with created:
        for n in range(5):
            created.audit.append("import", resources=n)
        yield created


def test_an_untouched_chain_verifies(vault: Vault) -> None:
    report = vault.audit.verify()
    assert report.ok and report.rows == 6  # create + 5 imports


def test_an_edited_row_is_reported_as_the_first_broken_link(vault: Vault) -> None:
    vault.conn.execute("UPDATE audit_log SET detail = '{\"resources\":99}' WHERE id = 4")
    report = vault.audit.verify()
    assert not report.ok and report.first_broken_id == 4 and "changed" in report.reason


def test_a_deleted_row_is_reported(vault: Vault) -> None:
    vault.conn.execute("DELETE FROM audit_log WHERE id = 3")
    report = vault.audit.verify()
    assert not report.ok and report.first_broken_id == 3 and "missing" in report.reason


def test_audit_rows_hold_no_health_data(vault: Vault) -> None:
    for entry in vault.audit.entries():
        assert set(entry.detail) <= {"resources", "new", "updated", "method"}


class MemoryKeyring(KeyringBackend):
    """A keyring backend that keeps secrets in memory (stands in for the OS store)."""

    priority = 1  # type: ignore[assignment]

    def __init__(self) -> None:
        super().__init__()
        self.secrets: dict[tuple[str, str], str] = {}

    def get_password(self, service: str, username: str) -> str | None:
        return self.secrets.get((service, username))

    def set_password(self, service: str, username: str, password: str) -> None:
        self.secrets[(service, username)] = password

    def delete_password(self, service: str, username: str) -> None:
        self.secrets.pop((service, username), None)


def test_a_plaintext_keyring_is_refused_and_nothing_is_stored() -> None:
    from keyrings.alt.file import PlaintextKeyring  # type: ignore[import-untyped]

    backend = PlaintextKeyring()
    with pytest.raises(KeyringRefused, match="no secure keyring"):
        remember_data_key("profile", b"k" * 32, backend)


def test_the_fail_backend_is_refused_with_a_message() -> None:
    with pytest.raises(KeyringRefused, match="Unlock with your passphrase"):
        secure_backend(keyring.backends.fail.Keyring())


def test_a_backend_outside_the_secure_list_is_refused() -> None:
    with pytest.raises(KeyringRefused):
        remember_data_key("profile", b"k" * 32, MemoryKeyring())


def test_a_secure_backend_remembers_and_unlocks(tmp_path: Path) -> None:
    backend = MemoryKeyring()
    allowed = frozenset({MemoryKeyring.__module__})
    vault, _ = Vault.create(tmp_path / "p", "passphrase words", KdfParams.minimum())
    with vault:
        vault.remember_on_device(backend, allowed)
        profile_id = vault.header.profile_id
    data_key = recall_data_key(profile_id, backend, allowed)
    assert data_key is not None
    Vault.unlock(tmp_path / "p", data_key=data_key).close()


class ChainOf(KeyringBackend):
    """Stands in for keyring's ChainerBackend: several backends, highest priority first."""

    priority = 10  # type: ignore[assignment]

    def __init__(self, *backends: KeyringBackend) -> None:
        super().__init__()
        self.backends = list(backends)

    def get_password(self, service: str, username: str) -> str | None:
        raise AssertionError("the chain itself is never read: only its secure members are")

    def set_password(self, service: str, username: str, password: str) -> None:
        raise AssertionError("the chain itself is never written: only its best secure member")

    def delete_password(self, service: str, username: str) -> None:
        raise AssertionError("the chain itself is never changed")


class LowPriorityMemoryKeyring(MemoryKeyring):
    priority = 0.8  # type: ignore[assignment]


def plaintext_keyring(tmp_path: Path) -> KeyringBackend:
    from keyrings.alt.file import PlaintextKeyring

    backend = PlaintextKeyring()
    backend.file_path = str(tmp_path / "plaintext-keyring.cfg")
    return backend


def test_a_chain_with_keyrings_alt_beside_a_secure_store_uses_the_secure_one(
    tmp_path: Path,
) -> None:
    # keyrings.alt installed beside a real Secret Service: the chain holds both. Refusing the
    # whole chain made "Remember on this device" impossible there.
    plain, secure = plaintext_keyring(tmp_path), MemoryKeyring()
    allowed = frozenset({MemoryKeyring.__module__})
    chain = ChainOf(plain, secure)
    remember_data_key("profile", b"k" * 32, chain, allowed)
    assert list(secure.secrets) == [("phr-desktop", "profile")]
    assert plain.get_password("phr-desktop", "profile") is None
    assert not (tmp_path / "plaintext-keyring.cfg").exists()
    assert recall_data_key("profile", chain, allowed) == b"k" * 32


def test_the_highest_priority_secure_backend_is_written(tmp_path: Path) -> None:
    low, high = LowPriorityMemoryKeyring(), MemoryKeyring()
    allowed = frozenset({MemoryKeyring.__module__})
    remember_data_key("profile", b"k" * 32, ChainOf(low, high), allowed)
    assert high.secrets and not low.secrets


def test_a_key_planted_in_an_insecure_backend_is_never_read(tmp_path: Path) -> None:
    import base64

    plain, secure = plaintext_keyring(tmp_path), MemoryKeyring()
    plain.set_password("phr-desktop", "profile", base64.b64encode(b"p" * 32).decode())
    allowed = frozenset({MemoryKeyring.__module__})
    assert recall_data_key("profile", ChainOf(plain, secure), allowed) is None


def test_a_chain_of_insecure_backends_only_is_refused(tmp_path: Path) -> None:
    chain = ChainOf(plaintext_keyring(tmp_path), keyring.backends.fail.Keyring())
    with pytest.raises(KeyringRefused, match=r"no secure keyring.*PlaintextKeyring"):
        remember_data_key("profile", b"k" * 32, chain)
    with pytest.raises(KeyringRefused):
        recall_data_key("profile", chain)


def test_forgetting_removes_the_key_from_the_secure_backends(tmp_path: Path) -> None:
    from phr_desktop.vault.keyring_store import forget_data_key

    secure = MemoryKeyring()
    allowed = frozenset({MemoryKeyring.__module__})
    chain = ChainOf(plaintext_keyring(tmp_path), secure)
    remember_data_key("profile", b"k" * 32, chain, allowed)
    forget_data_key("profile", chain, allowed)
    assert secure.secrets == {}
