"""A profile's name as the person typed it ("Mum (Joan)", "Zoë 山田") and the folder it lives
in, derived safely.

Names that were always allowed (ASCII letters, digits, space, '-', '_', '.') are their own
folder, so every existing profile keeps working unchanged. Any other name gets a folder made
of its ASCII letters and digits plus a hash of the whole name (distinct names, distinct
folders; no path, reserved or invisible character ever reaches the file system), and the
name itself is kept beside the vault in `profile-name.txt` (UTF-8), read when profiles are
listed before any is unlocked. The name is what the folder name already showed for ASCII
names: no health data.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from pathlib import Path

from phr_desktop.services.errors import ServiceError
from phr_desktop.vault.files import write_atomically

NAME_FILE = "profile-name.txt"
MAX_NAME = 64
# The names allowed before any Unicode was: they are still their own folder name.
_PLAIN_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9 _.-]{0,63}$")
_WINDOWS_RESERVED = re.compile(r"^(CON|PRN|AUX|NUL|COM[1-9]|LPT[1-9])(\..*)?$", re.IGNORECASE)


def check_name(name: str) -> str:
    """The name as it will be shown (NFC, trimmed), or a ServiceError saying what to change."""
    name = unicodedata.normalize("NFC", name).strip()
    if not name:
        raise ServiceError("Give the profile a name.")
    if len(name) > MAX_NAME:
        raise ServiceError(f"A profile name has at most {MAX_NAME} characters.")
    hidden = [c for c in name if unicodedata.category(c) in ("Cc", "Cf", "Zl", "Zp", "Cs", "Co")]
    if hidden:
        raise ServiceError(
            "A profile name cannot hold line breaks, tabs or invisible characters; type it again "
            "with letters, digits, spaces and punctuation."
        )
    if name.startswith("."):
        raise ServiceError("A profile name cannot start with '.'; start with a letter or digit.")
    return name


def folder_name(name: str) -> str:
    """The profile's folder under profiles/: the name itself when it always was allowed."""
    name = check_name(name)
    if _PLAIN_NAME.match(name) and not name.endswith(".") and not _WINDOWS_RESERVED.match(name):
        return name
    ascii_part = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    slug = re.sub(r"[^A-Za-z0-9]+", "-", ascii_part).strip("-")[:40].strip("-")
    digest = hashlib.sha256(name.encode("utf-8")).hexdigest()[:10]
    return f"{slug}-{digest}" if slug else f"profile-{digest}"


def read_name(folder: Path) -> str:
    """The name shown for a profile folder: its name file when valid, else the folder's name."""
    try:
        stored = (folder / NAME_FILE).read_text(encoding="utf-8")
        name = check_name(stored)
    except (OSError, UnicodeDecodeError, ServiceError):
        return folder.name
    # A name file copied into another folder is not believed: the folder must be that name's.
    return name if folder_name(name) == folder.name else folder.name


def write_name(folder: Path, name: str) -> None:
    if folder_name(name) != name:  # plain names need no file: the folder says it
        write_atomically(folder / NAME_FILE, check_name(name).encode("utf-8"))
