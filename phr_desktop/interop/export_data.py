"""What every exporter receives: the chosen records with their raw resources, and context.

Built by services/exporting.py from an unlocked profile; exporters are pure functions of it.
The records' raw bodies are read from the profile as exporters use them (in batches), so an
ExportData is used while its profile is open; the patient's body is read up front.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from typing import Any, Protocol

from phr_desktop.domain.aatd import AatdPack
from phr_desktop.domain.records import Record
from phr_desktop.vault.raw_json import load_raw


class BodySource(Protocol):
    """Where an export reads raw bodies from when it needs them (services/export_bodies.py
    reads them from the vault in batches), so that an export holds only the bodies in use."""

    def body(self, record_id: int) -> bytes: ...


@dataclass(frozen=True)
class ExportRecord:
    id: int
    record: Record
    # The stored resource's bytes, or where to read them on use: the PDF never reads them,
    # and the FHIR collection streams them, so 500k records need not all be in memory.
    stored_body: bytes | BodySource
    notes: tuple[str, ...] = ()  # the patient's own notes on this record

    @property
    def raw_body(self) -> bytes:
        """Exactly as stored (number literals as the source wrote them)."""
        if isinstance(self.stored_body, bytes):
            return self.stored_body
        return self.stored_body.body(self.id)

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
