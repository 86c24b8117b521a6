"""What every exporter receives: the chosen records with their raw resources, and context.

Built by services/exporting.py from an unlocked profile; exporters are pure functions of it.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from typing import Any

from phr_desktop.domain.aatd import AatdPack
from phr_desktop.domain.records import Record
from phr_desktop.vault.raw_json import load_raw


@dataclass(frozen=True)
class ExportRecord:
    id: int
    record: Record
    raw_body: bytes  # exactly as stored (number literals as the source wrote them)
    notes: tuple[str, ...] = ()  # the patient's own notes on this record

    @cached_property
    def raw(self) -> dict[str, Any]:
        """The stored FHIR resource, parsed on first use: the PDF, CSV and emergency exports
        never need it, and parsing every record up front cost 0.4 s at 13k records."""
        parsed: dict[str, Any] = load_raw(self.raw_body)
        return parsed


@dataclass(frozen=True)
class ExportData:
    patient: ExportRecord | None
    records: tuple[ExportRecord, ...]  # oldest first; the Patient record is not among them
    pack: AatdPack
    generated_at: str  # ISO instant
    app_version: str
    since: str | None = None
    kinds: tuple[str, ...] = ()
    # Every other stored Patient (the same person from other sources), for the FHIR
    # collection export, which keeps every raw resource.
    other_patients: tuple[ExportRecord, ...] = ()

    @property
    def patient_name(self) -> str:
        return self.patient.record.title if self.patient else "Unknown patient"

    def of_kind(self, *kinds: str) -> list[ExportRecord]:
        return [r for r in self.records if r.record.kind.value in kinds]
