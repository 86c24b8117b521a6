"""Tell a disk that is full, read-only or failing apart from a damaged vault.

A write that fails for want of space says nothing about the data already stored, so it must
not be reported as damage ("restore from a backup"): it becomes a `StorageError` (or
`StorageFull`) whose message says what could not be done, what was kept, and what to do.
"""

from __future__ import annotations

import contextlib
import errno
import shutil
import sqlite3
from collections.abc import Iterator
from pathlib import Path

from phr_desktop.vault.errors import StorageError, StorageFull

NOTHING_CHANGED = "Nothing was changed."
# SQLite reports some writes that fail for want of space (growing the WAL index) as plain I/O
# errors; with less than this free on the file's disk, "the disk is full" is the likely cause.
NEARLY_FULL_BYTES = 1 << 20

_FULL_ERRNOS = frozenset({errno.ENOSPC, getattr(errno, "EDQUOT", errno.ENOSPC)})
_ADVICE = {
    "full": ("the disk is full", "Free some space and try again."),
    "read-only": ("the disk or folder is read-only", "Make it writable or use another place."),
    "denied": (
        "permission was denied (the folder is read-only or not yours)",
        "Check the folder's permissions and try again.",
    ),
    "io": (
        "the disk reported an input/output error (it may be failing or was disconnected)",
        "Check the disk and try again; if it keeps happening, copy your backups elsewhere.",
    ),
    "cantopen": (
        "a file could not be opened (its folder may be missing, read-only or not allowed)",
        "Check the folder and its permissions and try again.",
    ),
}


def _os_kind(exc: OSError) -> str | None:
    if exc.errno in _FULL_ERRNOS:
        return "full"
    if exc.errno == errno.EROFS:
        return "read-only"
    if exc.errno in (errno.EACCES, errno.EPERM):
        return "denied"
    if exc.errno == errno.EIO:
        return "io"
    return None


def _sqlite_kind(exc: BaseException) -> str | None:
    code = getattr(exc, "sqlite_errorcode", None)
    if not isinstance(code, int):
        return "full" if "disk is full" in str(exc).lower() else None
    return {
        sqlite3.SQLITE_FULL: "full",
        sqlite3.SQLITE_IOERR: "io",
        sqlite3.SQLITE_READONLY: "read-only",
        sqlite3.SQLITE_CANTOPEN: "cantopen",
        sqlite3.SQLITE_PERM: "denied",
    }.get(code & 0xFF)


def is_storage_problem(exc: BaseException) -> bool:
    """True for a full, read-only or failing disk; False for anything else (damage included)."""
    if isinstance(exc, StorageError):
        return True
    if isinstance(exc, OSError):
        return True
    return _sqlite_kind(exc) is not None


def _nearly_full(where: Path) -> bool:
    for folder in (where, *where.parents):
        with contextlib.suppress(OSError):
            return shutil.disk_usage(folder).free < NEARLY_FULL_BYTES
    return False


def storage_error(
    exc: BaseException, action: str, outcome: str = NOTHING_CHANGED, where: Path | None = None
) -> StorageError:
    """The message for `exc` (an OSError or a SQLite storage error) while trying to `action`;
    `where` (a file on the disk concerned) lets an I/O error on a full disk say so."""
    if isinstance(exc, StorageError):
        return exc
    kind = _os_kind(exc) if isinstance(exc, OSError) else _sqlite_kind(exc)
    if kind == "io" and where is not None and _nearly_full(where):
        kind = "full"
    if kind is None:
        detail = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        reason, advice = detail, "Check the disk and the folder, then try again."
    else:
        reason, advice = _ADVICE[kind]
    message = f"Could not {action}: {reason}. {outcome} {advice}".replace("  ", " ")
    return (StorageFull if kind == "full" else StorageError)(message)


@contextlib.contextmanager
def storage_errors(
    action: str, outcome: str = NOTHING_CHANGED, where: Path | None = None
) -> Iterator[None]:
    """Turn OSErrors, and SQLite errors that are about the disk, into a `StorageError`."""
    try:
        yield
    except StorageError:
        raise
    except Exception as exc:
        if is_storage_problem(exc):
            raise storage_error(exc, action, outcome, where) from exc
        raise
