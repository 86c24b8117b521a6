"""What every exporter receives: the chosen records with their raw resources, and context.

Built by services/exporting.py from an unlocked profile; exporters are pure functions of it.
The records' raw bodies are read from the profile as exporters use them (in batches), so an
ExportData is used while its profile is open; the patient's body is read up front. For the
exports that stream (CCD, FHIR collection) the records themselves are read as they are walked,
a page at a time (services/export_records.py), so 500k records are never all in memory.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import cached_property
from typing import Any, Protocol, runtime_checkable

from phr_desktop.domain.aatd import AatdPack
from phr_desktop.domain.records import PartialDate, Record
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


RecordTest = Callable[[ExportRecord], bool]


@runtime_checkable
class WalkedRecords(Protocol):
    """Records read as they are walked rather than held (services/export_records.py): they
    choose among themselves without reading every record into memory."""

    def of_kind(
        self, kinds: Sequence[str], where: RecordTest | None, resource_types: Sequence[str]
    ) -> Sequence[ExportRecord]: ...

    def with_notes(self) -> Sequence[ExportRecord]: ...

    def pick(self, positions: Sequence[int]) -> list[ExportRecord]: ...

    def date_span(self) -> tuple[PartialDate | None, PartialDate | None]: ...

    def source_systems(self) -> list[str]: ...


def pick(records: Sequence[ExportRecord], positions: Sequence[int]) -> list[ExportRecord]:
    """The records at these positions: for walked records, read together in one go."""
    if isinstance(records, WalkedRecords):
        return records.pick(positions)
    return [records[p] for p in positions]


@dataclass(frozen=True)
class ExportData:
    patient: ExportRecord | None
    # Oldest first; the Patient record is not among them. A tuple, or WalkedRecords.
    records: Sequence[ExportRecord]
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

    def of_kind(
        self, *kinds: str, where: RecordTest | None = None, resource_types: Sequence[str] = ()
    ) -> Sequence[ExportRecord]:
        """The records of these kinds (and of these resource types, and passing `where`, when
        given), oldest first."""
        if isinstance(self.records, WalkedRecords):
            return self.records.of_kind(kinds, where, resource_types)
        return [
            r
            for r in self.records
            if r.record.kind.value in kinds
            and (not resource_types or r.record.resource_type in resource_types)
            and (where is None or where(r))
        ]

    def with_notes(self) -> Sequence[ExportRecord]:
        """The records the patient wrote notes on, oldest first."""
        if isinstance(self.records, WalkedRecords):
            return self.records.with_notes()
        return [r for r in self.records if r.notes]

    def date_span(self) -> tuple[PartialDate | None, PartialDate | None]:
        """The earliest and the latest of the records' dates (the first met of equals)."""
        if isinstance(self.records, WalkedRecords):
            return self.records.date_span()
        dates = [r.record.effective for r in self.records if r.record.effective]
        if not dates:
            return None, None
        return min(dates, key=lambda d: d.sort_key), max(dates, key=lambda d: d.sort_key)

    def source_systems(self) -> list[str]:
        """The systems the records came from, by name (those that name none left out)."""
        if isinstance(self.records, WalkedRecords):
            return self.records.source_systems()
        return sorted({s for r in self.records if (s := r.record.source_system)})
