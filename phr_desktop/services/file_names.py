"""File and folder names made from what a person typed: any language kept, but nothing a file
system refuses or reads as a path ("Zoë 山田" stays; "a/b", "CON", "..", NUL do not).
"""

from __future__ import annotations

import re
import unicodedata
from datetime import date
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from phr_desktop.services.session import Session

# Refused by Windows, macOS or Linux in a file name, or meaningful to a shell or a path.
_UNSAFE = re.compile(r'[<>:"/\\|?*\x00-\x1f\x7f]')
_WINDOWS_RESERVED = {"CON", "PRN", "AUX", "NUL", *(f"COM{i}" for i in range(1, 10)),
                     *(f"LPT{i}" for i in range(1, 10))}  # fmt: skip
MAX_PART = 60


def file_name_part(text: str, max_length: int = MAX_PART) -> str:
    """`text` as part of a file name: NFC, unsafe characters and format/control characters
    replaced by spaces, runs of spaces collapsed, no leading or trailing dots or spaces."""
    text = unicodedata.normalize("NFC", text)
    text = "".join(" " if unicodedata.category(c) in ("Cc", "Cf", "Zl", "Zp") else c for c in text)
    text = re.sub(r"\s+", " ", _UNSAFE.sub(" ", text)).strip(" .")
    text = text[:max_length].rstrip(" .")
    if text.split(".")[0].upper() in _WINDOWS_RESERVED:
        text = f"{text} file"
    return text


def export_file_name(person: str, what: str, day: date, suffix: str) -> str:
    """ "Zoë Yamada health record 2026-12-06.pdf"; without a usable name, the rest alone."""
    who = file_name_part(person)
    return " ".join(p for p in (who, what, day.isoformat()) if p) + suffix


def person_name(session: Session) -> str:
    """The name on the Patient record, else the profile's name."""
    from phr_desktop.services.session import RecordFilter

    for stored in session.records(RecordFilter(kinds=("patient",), limit=1)):
        if stored.record.title:
            return stored.record.title
    return session.profile_name
