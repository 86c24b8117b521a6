"""What a sync reports: each type's outcome, the counts written, the attachments fetched."""

from __future__ import annotations

from dataclasses import dataclass, field

from phr_desktop.vault.write_types import WriteCounts


@dataclass
class TypeOutcome:
    resource_type: str
    status: str  # ok, skipped, failed, cancelled
    fetched: int = 0
    detail: str = ""


@dataclass
class SyncReport:
    outcomes: list[TypeOutcome] = field(default_factory=list)
    counts: WriteCounts = field(default_factory=WriteCounts)
    attachments: int = 0
    attachments_skipped: int = 0
    attachments_external: int = 0  # outside the FHIR base: not fetched, shown as links
    marked_missing: int = 0
    reconnect_needed: bool = False

    @property
    def failed(self) -> list[TypeOutcome]:
        return [o for o in self.outcomes if o.status in ("failed", "cancelled")]

    @property
    def warnings(self) -> list[TypeOutcome]:
        """Types fetched, with something the server said about them (outcome entries, a
        category it refused)."""
        return [o for o in self.outcomes if o.status == "ok" and o.detail]
