"""What RecordStore's writes take and tell: a resource as it arrives (IncomingResource), the
normaliser that derives its record, and the counts a write reports (WriteCounts)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

from phr_desktop.domain.records import Record

Normaliser = Callable[[dict[str, Any]], Record | None]


class IncomingResource(Protocol):
    @property
    def resource(self) -> dict[str, Any]: ...
    @property
    def body(self) -> bytes: ...
    @property
    def sha256(self) -> str: ...
    @property
    def resource_type(self) -> str: ...
    @property
    def resource_id(self) -> str: ...


@dataclass
class WriteCounts:
    new: int = 0
    updated: int = 0
    unchanged: int = 0
    older_kept: int = 0
    records: int = 0
    flagged: int = 0
    by_type: dict[str, int] = field(default_factory=dict)

    def add(self, other: WriteCounts) -> None:
        for name in ("new", "updated", "unchanged", "older_kept", "records", "flagged"):
            setattr(self, name, getattr(self, name) + getattr(other, name))
        for key, value in other.by_type.items():
            self.by_type[key] = self.by_type.get(key, 0) + value

    def as_dict(self) -> dict[str, Any]:
        return {
            "new": self.new,
            "updated": self.updated,
            "unchanged": self.unchanged,
            "older_kept": self.older_kept,
            "records": self.records,
            "flagged": self.flagged,
            "by_type": dict(sorted(self.by_type.items())),
        }
