"""Open a SQLCipher 4 database with a raw key, check the cipher is really on, and set pragmas."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import NoReturn, TypeVar

import sqlcipher3
from sqlcipher3 import dbapi2
from sqlcipher3.dbapi2 import Connection

from phr_desktop.vault.errors import (
    VaultDamaged,
    VaultError,
    VaultNotFound,
)
from phr_desktop.vault.files import PRIVATE_FILE_MODE, create_private_file
from phr_desktop.vault.storage_errors import is_storage_problem, storage_error

DatabaseError = dbapi2.DatabaseError

# Ids per `IN (...)` query in the vault's bulk reads: far under SQLite's bound on host
# parameters, and few enough rows to hold at once.
IDS_PER_QUERY = 500

_Id = TypeVar("_Id")


def id_chunks(ids: Sequence[_Id]) -> Iterator[Sequence[_Id]]:
    """`ids` in slices of IDS_PER_QUERY, for one `IN (...)` query each."""
    for start in range(0, len(ids), IDS_PER_QUERY):
        yield ids[start : start + IDS_PER_QUERY]


# The binding looks for an adapter on every parameter that is not an int, float or str, and a
# miss costs attribute lookups that raise: ~1 µs per None or bytes value (measured; an import
# binds millions). Identity adapters turn those misses into one cheap hit. Process-wide, and
# harmless: the value bound is the value given.
sqlcipher3.register_adapter(type(None), lambda value: value)
sqlcipher3.register_adapter(bytes, bytes)

_DAMAGED = (
    "The vault file {path} is damaged, truncated or not this profile's ({why}). Nothing was "
    "changed. Restore the profile from a backup (File → Restore from backup…, or "
    "`phr vault restore BACKUP --as NAME`); "
    "`phr vault check` shows details."
)


def _apply_key(conn: Connection, data_key: bytes) -> None:
    # A 64-hex-digit blob literal makes SQLCipher use the bytes as the key, with no PBKDF2:
    # the data key is already random, and Argon2id protects the passphrase that wraps it.
    conn.execute(f"PRAGMA key = \"x'{data_key.hex()}'\"")


def damaged(path: Path, why: object) -> VaultDamaged:
    """The one message for a vault file that cannot be this profile's database."""
    return VaultDamaged(_DAMAGED.format(path=path, why=why))


def open_database(
    path: Path,
    data_key: bytes,
    *,
    create: bool = False,
    verify: Callable[[Connection], None] | None = None,
) -> Connection:
    """Open (or with `create`, make) the database. `verify` runs after the key is checked and
    before anything is written: a file it refuses is left exactly as it was."""
    if create:
        try:
            create_private_file(path)
        except OSError as exc:
            raise storage_error(exc, f"create the vault file {path}") from None
    else:
        try:
            size = path.stat().st_size
        except FileNotFoundError:
            raise VaultNotFound(
                f"The vault file is missing ({path}). If you moved the profile folder, put it "
                "back; otherwise restore the profile from a backup."
            ) from None
        except OSError as exc:
            raise storage_error(exc, f"read the vault file {path}", where=path) from None
        if size == 0:
            # SQLCipher would take an empty file for a new database and write a fresh one.
            raise damaged(path, "the file is empty")
    # mode=rw: never let SQLite create an empty database in place of a missing one.
    uri = path.resolve().as_uri() + "?mode=rw"
    try:
        conn = sqlcipher3.connect(uri, uri=True, isolation_level=None, check_same_thread=False)
    except dbapi2.DatabaseError as exc:
        raise storage_error(exc, f"open the vault file {path}", where=path) from None
    with _closed_on_failure(conn, path, "open"):
        # SQLCipher would otherwise log key failures to stderr; errors reach us as exceptions.
        conn.execute("PRAGMA cipher_log_level = NONE")
        _apply_key(conn, data_key)
        conn.execute("SELECT count(*) FROM sqlite_master").fetchone()
        check_cipher(conn)
        if verify is not None:
            verify(conn)
        conn.execute("PRAGMA journal_mode = WAL")
        conn.execute("PRAGMA synchronous = FULL")
        conn.execute("PRAGMA foreign_keys = ON")
        conn.execute("PRAGMA temp_store = MEMORY")  # no temporary files outside the cipher
        conn.execute("PRAGMA busy_timeout = 2000")
        # 64 MiB of page cache: imports touch index pages all over the file, and every page
        # read again from disk must be decrypted and its HMAC checked again.
        conn.execute("PRAGMA cache_size = -65536")
    for suffix in ("", "-wal", "-shm"):
        side = Path(str(path) + suffix)
        if side.exists():
            side.chmod(PRIVATE_FILE_MODE)
    return conn


@contextlib.contextmanager
def _closed_on_failure(conn: Connection, path: Path, verb: str) -> Iterator[None]:
    """Setting up a connection: on any failure it is closed, and a SQLite error becomes a
    storage error (full, read-only or failing disk) or, for anything else, damage."""
    try:
        yield
    except dbapi2.DatabaseError as exc:
        conn.close()
        if is_storage_problem(exc):
            raise storage_error(exc, f"{verb} the vault file {path}", where=path) from None
        raise damaged(path, exc) from None
    except BaseException:
        conn.close()
        raise


def open_reader(path: Path, data_key: bytes) -> Connection:
    """A second connection that only reads (a backup's source): it waits for a writer
    instead of failing at once, and changes no setting of the file. In WAL mode it sees
    what was committed when its read began, never another connection's open transaction."""
    uri = path.resolve().as_uri() + "?mode=rw"  # rw: a WAL reader may need to map the -shm
    try:
        conn = sqlcipher3.connect(uri, uri=True, isolation_level=None, check_same_thread=False)
    except dbapi2.DatabaseError as exc:
        raise storage_error(exc, f"open the vault file {path}", where=path) from None
    with _closed_on_failure(conn, path, "read"):
        conn.execute("PRAGMA busy_timeout = 10000")
        conn.execute("PRAGMA cipher_log_level = NONE")
        _apply_key(conn, data_key)
        conn.execute("PRAGMA query_only = ON")
        conn.execute("PRAGMA temp_store = MEMORY")
        conn.execute("SELECT count(*) FROM sqlite_master").fetchone()
        check_cipher(conn)
    return conn


def open_memory_database() -> Connection:
    """A database that lives only in this process's memory (a share being viewed): no file,
    no journal, no temporary files; it is gone when closed. Schema: `migrations.migrate`."""
    conn = sqlcipher3.connect(":memory:", isolation_level=None, check_same_thread=False)
    conn.execute("PRAGMA temp_store = MEMORY")  # sorts and indexes stay off the disk too
    conn.execute("PRAGMA foreign_keys = ON")
    return conn


def check_cipher(conn: Connection) -> None:
    """Refuse to run on a build without encryption or with page authentication turned off."""
    version = conn.execute("PRAGMA cipher_version").fetchone()
    if not version or not version[0]:
        raise VaultError(
            "This copy of phr-desktop was built without SQLCipher encryption; it will not "
            "store health data. Reinstall it from the official package."
        )
    settings = {row[0] for row in conn.execute("PRAGMA cipher_settings")}
    if "PRAGMA cipher_use_hmac = 1;" not in settings:
        raise VaultError("The vault's page authentication (HMAC) is off; refusing to open it.")


def integrity_problems(conn: Connection) -> list[str]:
    """Every problem SQLCipher's page HMACs and SQLite's integrity check find; [] if none."""
    try:
        problems = [str(row[0]) for row in conn.execute("PRAGMA cipher_integrity_check")]
        rows = [str(row[0]) for row in conn.execute("PRAGMA integrity_check")]
    except dbapi2.DatabaseError as exc:  # damage bad enough that the check itself stops
        return [f"the check stopped: {exc}"]
    if rows != ["ok"]:
        problems.extend(rows)
    return problems


# WAL pages between checkpoints during bulk writes: 64 MiB instead of SQLite's 4 MiB. An
# import commits once per file and rewrites many of the same index pages in each; copying the
# WAL into the file less often copies each page once instead of after every file (measured:
# 100k resources, commits 3.3-4.3 s -> 2.8-2.9 s). Commits still sync the WAL
# (synchronous=FULL), so durability is the same; the WAL file just grows larger in between.
BULK_WAL_AUTOCHECKPOINT = 16384


# Page cache during bulk writes, in KiB (SQLite's negative `cache_size`), once the vault holds
# BULK_CACHE_FROM_BYTES. An import inserts into indexes keyed by random values (resource ids,
# fact keys, dates); past the cache their pages are read back, decrypted and HMAC-checked again
# on every insert that lands on them, so the writer's CPU per resource grows with the vault.
# Measured at 500k resources (writer CPU against the worker's, which the cache does not touch,
# as the machine's load varied): 64 MiB 2.59-2.60, 96 MiB 2.46-2.47 (-5 %), 128 MiB 2.39
# (-8 %), for +32 and +65 MB of peak RSS; 96 keeps the import under its 300 MB. At 100k
# resources (a ~260 MB vault, whose indexes fit in 64 MiB) it bought nothing but ~30 MB, hence
# the threshold. Afterwards the cache shrinks back to the app's.
BULK_CACHE_KIB = 96 * 1024
BULK_CACHE_FROM_BYTES = 512 * 2**20


@contextlib.contextmanager
def bulk_writes(conn: Connection) -> Iterator[None]:
    """Checkpoint less often inside this block, and cache more pages once the vault is large
    (`fit_bulk_cache`, which a long import calls again as the vault grows); afterwards set
    both back, checkpoint and shrink the WAL."""
    previous = int(conn.execute("PRAGMA wal_autocheckpoint").fetchone()[0])
    previous_cache = int(conn.execute("PRAGMA cache_size").fetchone()[0])
    conn.execute(f"PRAGMA wal_autocheckpoint = {BULK_WAL_AUTOCHECKPOINT}")
    fit_bulk_cache(conn)
    try:
        yield
    finally:
        conn.execute(f"PRAGMA cache_size = {previous_cache}")
        conn.execute(f"PRAGMA wal_autocheckpoint = {previous}")
        # Not worth an error of its own (a full disk is reported already): the next
        # checkpoint does the same.
        with contextlib.suppress(dbapi2.DatabaseError):
            if not conn.in_transaction:
                conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")


def fit_bulk_cache(conn: Connection) -> None:
    """Inside `bulk_writes`: raise the page cache to BULK_CACHE_KIB once the vault holds
    BULK_CACHE_FROM_BYTES (committed pages, WAL included)."""
    pages = int(conn.execute("PRAGMA page_count").fetchone()[0])
    page_size = int(conn.execute("PRAGMA page_size").fetchone()[0])
    if pages * page_size >= BULK_CACHE_FROM_BYTES:
        conn.execute(f"PRAGMA cache_size = -{BULK_CACHE_KIB}")


def _file_of(conn: Connection) -> Path | None:
    with contextlib.suppress(dbapi2.DatabaseError):
        for _seq, name, file in conn.execute("PRAGMA database_list"):
            if name == "main" and file:
                return Path(file)
    return None


def _begin(conn: Connection) -> None:
    try:
        conn.execute("BEGIN IMMEDIATE")
    except dbapi2.DatabaseError as exc:
        if is_storage_problem(exc):
            raise storage_error(exc, "save this change", where=_file_of(conn)) from None
        raise


def _roll_back_and_raise(conn: Connection, exc: BaseException) -> NoReturn:
    """After a failure inside a transaction: roll it back, and raise a full or failing disk
    as a StorageError (StorageFull when full), anything else as it was."""
    if conn.in_transaction:
        with contextlib.suppress(dbapi2.DatabaseError):  # SQLite may have rolled back
            conn.execute("ROLLBACK")
    if isinstance(exc, dbapi2.DatabaseError) and is_storage_problem(exc):
        outcome = "It was rolled back, so nothing was changed."
        raise storage_error(exc, "save this change", outcome, _file_of(conn)) from None
    raise exc


@contextlib.contextmanager
def transaction(conn: Connection) -> Iterator[None]:
    """BEGIN IMMEDIATE … COMMIT; any error rolls back, and a full or failing disk becomes a
    StorageError (StorageFull when full), never a damaged vault."""
    _begin(conn)
    try:
        yield
        conn.execute("COMMIT")
    except BaseException as exc:
        _roll_back_and_raise(conn, exc)


class SharedTransaction:
    """Several pieces of work in one transaction, committed together when the caller says.

    A bulk import writes many files: committing each alone rewrote the same index pages (and
    encrypted them again) once per file. Each `part` joins the open transaction, or begins
    one; a failure in any part rolls back every part since the last commit (and a full or
    failing disk becomes a StorageError, as in `transaction`), so what is committed is always
    whole parts. There are no savepoints: under one, SQLite keeps a copy of every page the
    transaction changes until it ends (measured: +55 MB of peak RSS at 100k resources), so
    a part that can be refused must be checked before it writes anything."""

    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    @property
    def open(self) -> bool:
        return bool(self.conn.in_transaction)

    @contextlib.contextmanager
    def part(self) -> Iterator[None]:
        if not self.conn.in_transaction:
            _begin(self.conn)
        try:
            yield
        except BaseException as exc:
            _roll_back_and_raise(self.conn, exc)

    def commit(self) -> None:
        """Commit every part so far (nothing to do if none is pending)."""
        if not self.conn.in_transaction:
            return
        try:
            self.conn.execute("COMMIT")
        except BaseException as exc:
            _roll_back_and_raise(self.conn, exc)

    def roll_back(self) -> None:
        """Drop every part since the last commit (after an error or when given up)."""
        if self.conn.in_transaction:
            with contextlib.suppress(dbapi2.DatabaseError):
                self.conn.execute("ROLLBACK")
