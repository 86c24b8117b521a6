"""Property: whatever bytes `header.json` and `vault.db` hold, unlocking either works or raises
one of the app's own errors (a `VaultError`, whose message is shown as it is); it never lets
another exception out, and a refused vault's files are left exactly as they were.

The default run is short (a few seconds); `PHR_FUZZ_EXAMPLES=2000` runs a longer one.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from phr_desktop.vault.errors import VaultError
from phr_desktop.vault.header import load_header
from phr_desktop.vault.keys import KdfParams
from phr_desktop.vault.vault import DB_NAME, HEADER_NAME, Vault

PASS = "fuzzing passphrase"
EXAMPLES = int(os.environ.get("PHR_FUZZ_EXAMPLES", "20"))
FUZZ = settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


class Pristine:
    """One small real vault, made once; each example works on a fresh copy of it."""

    def __init__(self, root: Path) -> None:
        self.folder = root / "pristine"
        vault, self.recovery_key = Vault.create(self.folder, PASS, KdfParams.minimum())
        with vault:
            self.data_key = vault.data_key
            vault.conn.execute("INSERT INTO settings VALUES ('marker', 'kept')")
            for n in range(40):
                vault.audit.append("import", resources=n)
        self.header = (self.folder / HEADER_NAME).read_bytes()
        self.database = (self.folder / DB_NAME).read_bytes()

    @staticmethod
    def _copy_of(folder: Path) -> Iterator[Path]:
        work = Path(tempfile.mkdtemp(prefix="phr-fuzz-"))
        try:
            shutil.copytree(folder, work / "p")
            yield work / "p"
        finally:
            shutil.rmtree(work, ignore_errors=True)


@pytest.fixture(scope="module")
def pristine(tmp_path_factory: pytest.TempPathFactory) -> Pristine:
    return Pristine(tmp_path_factory.mktemp("fuzz"))


def _unlock_with(how: str, pristine: Pristine) -> Callable[[Path], Vault]:
    if how == "passphrase":
        return lambda folder: Vault.unlock(folder, passphrase=PASS)
    if how == "recovery key":
        return lambda folder: Vault.unlock(folder, recovery_key=pristine.recovery_key)
    return lambda folder: Vault.unlock(folder, data_key=pristine.data_key)


def _try_unlock(folder: Path, unlock: Callable[[Path], Vault]) -> bool:
    """True if it opened; False if refused with the app's own error. Anything else fails."""
    try:
        vault = unlock(folder)
    except VaultError as refused:
        assert str(refused), "an error with no message for the user"
        return False
    # Opened: a damaged page that unlock did not read is found later, by `vault check` or
    # the read that reaches it (the page HMAC refuses it); not part of this property.
    vault.close()
    return True


def _assert_refused_and_untouched(folder: Path, unlock: Callable[[Path], Vault]) -> None:
    header, database = (folder / HEADER_NAME).read_bytes(), (folder / DB_NAME).read_bytes()
    if not _try_unlock(folder, unlock):
        assert (folder / HEADER_NAME).read_bytes() == header
        assert (folder / DB_NAME).read_bytes() == database


# --- mutations ----------------------------------------------------------------------------

byte_mutations = st.one_of(
    st.tuples(st.just("flip"), st.integers(0, 2**31), st.integers(1, 255)),
    st.tuples(st.just("truncate"), st.integers(0, 2**31), st.just(0)),
    st.tuples(st.just("insert"), st.integers(0, 2**31), st.integers(0, 255)),
    st.tuples(st.just("delete"), st.integers(0, 2**31), st.just(0)),
    st.tuples(st.just("zero page"), st.integers(0, 2**31), st.just(0)),
)


def _mutate(data: bytes, steps: list[tuple[str, int, int]]) -> bytes:
    out = bytearray(data)
    for kind, where, value in steps:
        at = where % (len(out) + 1)
        if kind == "flip" and out:
            out[at % len(out)] ^= value
        elif kind == "truncate":
            del out[at:]
        elif kind == "insert":
            out[at:at] = bytes([value])
        elif kind == "delete" and out:
            del out[at % len(out)]
        elif kind == "zero page":
            page = at // 4096 * 4096
            out[page : page + 4096] = bytes(len(out[page : page + 4096]))
    return bytes(out)


json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(2**63), 2**63 - 1)
    | st.floats(allow_nan=False)
    | st.text(max_size=40),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner),
    max_leaves=8,
)
# Header fields a careful editor would change, with the checksum fixed after the edit. The
# KDF cost fields are left out: in bounds they are real (slow) Argon2 work, not parsing.
HEADER_PATHS = [
    ("format",),
    ("version",),
    ("profile_id",),
    ("created",),
    ("kdf",),
    ("kdf", "alg"),
    ("kdf", "salt"),
    ("kdf", "parallelism"),
    ("recovery_salt",),
    ("wraps",),
    ("wraps", "passphrase"),
    ("wraps", "passphrase", "nonce"),
    ("wraps", "recovery", "ciphertext"),
    ("mac",),
    ("database_id",),
    ("audit",),
    ("audit", "rows"),
    ("audit", "head"),
]


def _with_checksum(body: dict[str, Any]) -> bytes:
    body.pop("checksum", None)
    body["checksum"] = hashlib.sha256(orjson.dumps(body, option=orjson.OPT_SORT_KEYS)).hexdigest()
    return orjson.dumps(body)


# --- properties -----------------------------------------------------------------------------


@FUZZ
@given(
    steps=st.lists(byte_mutations, min_size=1, max_size=4),
    how=st.sampled_from(["passphrase", "recovery key", "data key"]),
)
def test_a_header_with_mutated_bytes_opens_or_is_refused_with_our_error(
    pristine: Pristine, steps: list[tuple[str, int, int]], how: str
) -> None:
    for folder in Pristine._copy_of(pristine.folder):
        (folder / HEADER_NAME).write_bytes(_mutate(pristine.header, steps))
        _assert_refused_and_untouched(folder, _unlock_with(how, pristine))


@FUZZ
@given(
    path=st.sampled_from(HEADER_PATHS),
    value=json_values,
    how=st.sampled_from(["recovery key", "data key"]),
)
def test_a_header_edited_with_its_checksum_fixed_opens_or_is_refused_with_our_error(
    pristine: Pristine, path: tuple[str, ...], value: Any, how: str
) -> None:
    body = orjson.loads(pristine.header)
    target = body
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value
    for folder in Pristine._copy_of(pristine.folder):
        (folder / HEADER_NAME).write_bytes(_with_checksum(body))
        _assert_refused_and_untouched(folder, _unlock_with(how, pristine))


@FUZZ
@given(steps=st.lists(byte_mutations, min_size=1, max_size=3))
def test_a_database_with_mutated_bytes_opens_or_is_refused_untouched(
    pristine: Pristine, steps: list[tuple[str, int, int]]
) -> None:
    for folder in Pristine._copy_of(pristine.folder):
        (folder / DB_NAME).write_bytes(_mutate(pristine.database, steps))
        _assert_refused_and_untouched(folder, _unlock_with("data key", pristine))


def test_the_pristine_vault_itself_opens_every_way(pristine: Pristine) -> None:
    """The properties above would pass vacuously if nothing ever opened."""
    for how in ("passphrase", "recovery key", "data key"):
        for folder in Pristine._copy_of(pristine.folder):
            assert _try_unlock(folder, _unlock_with(how, pristine))
            with _unlock_with(how, pristine)(folder) as vault:
                marker = "SELECT value FROM settings WHERE key = 'marker'"
                assert vault.conn.execute(marker).fetchone() == ("kept",)
    assert load_header(pristine.folder / HEADER_NAME).database_id
