"""What the CLI and the app do with an error nobody expected (a bug): a plain message for the
user and a crash report file for the developers, with no health data in either.

A crash report holds only the exception's type, the traceback's file, line and function
names, and versions. Never an exception's message or arguments, nor any variable: those
may hold a name, a value or a path from the record.
"""

from __future__ import annotations

import errno
import os
import platform
import tempfile
import traceback
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path

import platformdirs

from phr_desktop import __version__

__all__ = [
    "EXIT_BUG",
    "bug_message",
    "crash_report_text",
    "os_error_message",
    "report_crash",
]

EXIT_BUG = 70  # EX_SOFTWARE in sysexits.h: an internal error, not the user's
_LIBRARIES = ("PySide6", "sqlcipher3", "joserfc", "lxml", "httpx", "authlib", "reportlab")
_MAX_CHAIN = 5


def crash_folder() -> Path:
    """`PHR_CRASH_DIR`, else the per-user log folder (not the data folder: it may be the
    very thing that cannot be written)."""
    configured = os.environ.get("PHR_CRASH_DIR")
    return Path(configured) if configured else platformdirs.user_log_path("phr-desktop")


def _source_name(filename: str) -> str:
    """A frame's file without the user's folders: from the package (ours or a library's)
    down, else the bare file name."""
    path = filename.replace("\\", "/")
    for marker in ("/phr_desktop/", "/site-packages/", "/dist-packages/", "/lib/python"):
        if marker in path:
            tail = path.rsplit(marker, 1)[1]
            return ("phr_desktop/" + tail) if marker == "/phr_desktop/" else tail
    return path.rsplit("/", 1)[-1]


def _type_name(exc: BaseException) -> str:
    kind = type(exc)
    module = kind.__module__
    name = kind.__qualname__ if module == "builtins" else f"{module}.{kind.__qualname__}"
    errno_value = getattr(exc, "errno", None)
    # An errno is a number the OS defines (28: no space left), never the user's data.
    return f"{name} (errno {errno_value})" if isinstance(errno_value, int) else name


def _chain(exc: BaseException) -> list[BaseException]:
    chain: list[BaseException] = []
    current: BaseException | None = exc
    while current is not None and current not in chain and len(chain) < _MAX_CHAIN:
        chain.append(current)
        current = current.__cause__ or current.__context__
    return chain


def _versions() -> list[str]:
    lines = [
        f"phr-desktop {__version__}",
        f"Python {platform.python_version()} ({platform.python_implementation()})",
        f"{platform.system()} {platform.release()} {platform.machine()}",
    ]
    for name in _LIBRARIES:
        try:
            lines.append(f"{name} {metadata.version(name)}")
        except metadata.PackageNotFoundError:
            continue
    return lines


def crash_report_text(exc: BaseException, *, where: str = "phr") -> str:
    """The report: versions, then each exception of the chain (outermost first) with its
    frames as `file:line in function`. No messages, no values."""
    lines = [
        f"{where} crash report, {datetime.now(UTC):%Y-%m-%d %H:%M:%S} UTC",
        "It holds no health data: exception types, file/line/function names and versions only.",
        "",
        *_versions(),
    ]
    for n, link in enumerate(_chain(exc)):
        lines += ["", ("exception: " if n == 0 else "while handling: ") + _type_name(link)]
        for frame in traceback.extract_tb(link.__traceback__):
            lines.append(f"  {_source_name(frame.filename)}:{frame.lineno} in {frame.name}")
    return "\n".join(lines) + "\n"


def report_crash(exc: BaseException, *, where: str = "phr") -> Path | None:
    """Write the crash report (0600) and return its path; None if it could not be written
    (the message then says so; a crash while reporting a crash must not mask the first)."""
    stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M%S")
    fallback = Path(tempfile.gettempdir()) / "phr-desktop-crash-reports"
    for folder in (crash_folder(), fallback):
        try:
            text = crash_report_text(exc, where=where)
            folder.mkdir(parents=True, exist_ok=True, mode=0o700)
            handle, name = tempfile.mkstemp(
                prefix=f"{where}-crash-{stamp}-", suffix=".txt", dir=folder
            )
            with os.fdopen(handle, "w", encoding="utf-8") as out:
                out.write(text)
            return Path(name)
        except Exception:
            continue
    return None


def os_error_message(exc: OSError) -> str:
    """An I/O error no layer turned into a message (a read-only or missing folder, a full
    disk), in words, for the CLI and the app alike; the path is the user's own, the OS's
    reason is not health data, and no crash report is needed: it is not a bug."""
    where = f" ({exc.filename})" if exc.filename else ""
    if exc.errno in (errno.ENOSPC, errno.EDQUOT):
        return f"The disk is full{where}; free some space and try again. Nothing was changed."
    if exc.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
        return (
            f"Permission denied or read-only{where}: phr-desktop needs to write there. Choose a "
            "folder you can write to (for the profiles: --data-dir DIR or PHR_DATA_DIR)."
        )
    return f"{exc.strerror or type(exc).__name__}{where}."


def bug_message(exc: BaseException, report: Path | None) -> str:
    """What the user reads: what happened, that their records are safe, where the report is."""
    where = (
        f"A crash report with no health data in it was written to {report}; sending it to "
        "the developers helps to fix this."
        if report is not None
        else "No crash report could be written."
    )
    return (
        f"An internal error ({type(exc).__name__}) stopped this. It is a bug in phr-desktop, "
        "not something you did; work that did not finish was rolled back, so your records are "
        f"as they were. {where}"
    )
