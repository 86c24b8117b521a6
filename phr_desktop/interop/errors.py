"""The interop layer's exceptions: what was wrong with a file, and where."""

from __future__ import annotations


class ImportError_(Exception):
    """A file could not be imported; `str(error)` is the message to show the user."""


class UnreadableFile(ImportError_):
    def __init__(self, name: str, line: int | None, column: int | None, reason: str) -> None:
        where = f" at line {line}, column {column}" if line is not None else ""
        super().__init__(
            f"{name} could not be read{where}: {reason}. Nothing from this file was imported; "
            "if it came from a patient portal, download it again."
        )
        self.name, self.line, self.column, self.reason = name, line, column, reason
