"""Writing a file the user named (exports, shares, hand-outs): whole or not at all, private.

Every such file holds health data or a share key, so it is written 0600, through a temporary
file in the same folder that replaces the target only when complete. The target's folder
must exist (a mistyped folder is an error, not a new folder), and a path that exists but is
not a regular file (a folder, a device such as /dev/full, a pipe, a link) is never replaced.
"""

from __future__ import annotations

import errno
import os
import re
import stat
import tempfile
import unicodedata
from collections.abc import Callable
from pathlib import Path

from phr_desktop.services.errors import ServiceError, StorageError
from phr_desktop.vault.storage_errors import storage_error

__all__ = ["check_output_path", "output_error", "write_output_bytes", "write_output_file"]

PRIVATE_FILE_MODE = 0o600


def check_output_path(path: Path) -> Path:
    """Refuse, before any work is done, a target that could not or must not be written."""
    if not path.name or path.name in (".", ".."):
        raise ServiceError(f"{path} is not a file name; give the file to write, e.g. out.pdf.")
    folder = path.parent
    if not folder.is_dir():
        raise ServiceError(
            f"The folder {folder} does not exist; create it first or choose another place."
        )
    try:
        info = path.lstat()
    except FileNotFoundError:
        return path
    except OSError as exc:
        raise output_error(path, exc) from None
    if stat.S_ISDIR(info.st_mode):
        raise ServiceError(f"{path} is a folder; give a file name inside it, e.g. {path}/out.pdf.")
    if not stat.S_ISREG(info.st_mode):
        raise ServiceError(
            f"{path} exists and is not a regular file (a device, link or pipe); it is left as "
            "it is. Choose another file name."
        )
    return path


def output_error(path: Path, exc: OSError) -> ServiceError | StorageError:
    """An OSError while writing `path`, as a message that says what to do."""
    if exc.errno in (errno.ENOSPC, errno.EDQUOT, errno.EIO):
        # One wording for a full or failing disk, whatever was being written.
        return storage_error(exc, f"write {path}", "Nothing was left behind.", path)
    if exc.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
        return ServiceError(
            f"{path} cannot be written here ({exc.strerror or 'permission denied'}); choose a "
            "folder you can write to."
        )
    return ServiceError(f"Could not write {path}: {exc.strerror or type(exc).__name__}.")


def write_output_file(path: Path, write: Callable[[Path], None]) -> Path:
    """Have `write` fill a private temporary file beside `path`, then move it into place."""
    check_output_path(path)
    temporary: Path | None = None
    try:
        handle, name = tempfile.mkstemp(
            prefix=f".{path.name[:100]}.", suffix=".partial", dir=path.parent
        )
        os.close(handle)  # mkstemp made it 0600; the writer reopens it by name
        temporary = Path(name)
        write(temporary)
        os.chmod(temporary, PRIVATE_FILE_MODE)
        with temporary.open("rb+") as written:
            os.fsync(written.fileno())
        check_output_path(path)  # nothing turned into a folder or device meanwhile
        os.replace(temporary, path)
        temporary = None
    except OSError as exc:
        raise output_error(path, exc) from None
    finally:
        if temporary is not None:
            temporary.unlink(missing_ok=True)
    return path


def write_output_bytes(path: Path, data: bytes) -> Path:
    def write(temporary: Path) -> None:
        temporary.write_bytes(data)

    return write_output_file(path, write)


def safe_file_name(value: object, limit: int = 150) -> str:
    """A file name from data (a share, a synced document), usable on every OS: no folders,
    no control or format characters (a NUL would stop the write with an error), nothing
    that would hide the file, at most `limit` characters."""
    text = "" if value is None else str(value)[: limit * 4]
    text = "".join(" " if unicodedata.category(ch)[0] == "C" else ch for ch in text)
    name = Path(re.sub(r"\s+", " ", text).replace("\\", "/")).name.strip(" .")
    return name[:limit].strip(" .") or "attachment"
