"""What every exporter receives: the chosen records with their raw resources, and context.

Built by services/exporting.py from an unlocked profile; exporters are pure functions of it.
The records' raw bodies are read from the profile as exporters use them (in batches), so an
ExportData is used while its profile is open; the patient's body is read up front. For the
exports that stream (CCD, FHIR collection) the records themselves are read as they are walked,
a page at a time (services/export_records.py), so 500k records are never all in memory; the
record PDF reads only the rows it prints, a section at a time (services/export_sections.py).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from functools import cached_property
from typing import Any, NamedTuple, Protocol, runtime_checkable

from phr_desktop.domain.aatd import AatdPack
from phr_desktop.domain.records import Code, PartialDate, Record
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


class ShownRow(NamedTuple):
    """What the record PDF's tables and trend charts show of one record, as plain values: a
    long record's rows are read as these, only the columns printed, where a whole `Record`
    cost several times more to read and build (issue 16)."""

    id: int
    effective: str | None  # the date as the source wrote it
    precision: str | None  # a DatePrecision value
    title: str | None
    status: str | None
    value_num: float | None
    unit: str | None
    value_text: str | None
    ref_low: float | None
    ref_high: float | None
    ref_text: str | None
    interpretation: str | None
    source_system: str | None
    facility: str | None
    quality: tuple[str, ...]
    text: str
    notes: tuple[str, ...]  # the patient's own notes on the record
    resource_type: str  # these two: read from the vault only for the charts, else "" and ()
    codes: tuple[Code, ...]

    @classmethod
    def of(cls, entry: ExportRecord, status: str | None = None) -> ShownRow:
        """The row of a record already read (a share's records, a short export); `status` in
        place of the record's own when given (an allergy's, told from its raw body)."""
        return cls.of_record(entry.record, entry.id, entry.notes, status)

    @classmethod
    def of_record(
        cls,
        r: Record,
        record_id: int = 0,
        notes: tuple[str, ...] = (),
        status: str | None = None,
    ) -> ShownRow:
        value, rr, effective = r.value, r.reference_range, r.effective
        return cls(
            record_id,
            effective.text if effective else None,
            effective.precision.value if effective else None,
            r.title,
            status if status is not None else r.status,
            value.value if value else None,
            value.unit if value else None,
            value.text if value else None,
            rr.low if rr else None,
            rr.high if rr else None,
            rr.text if rr else None,
            r.interpretation,
            r.source_system,
            r.facility,
            r.quality,
            r.text,
            notes,
            r.resource_type,
            r.codes,
        )


@runtime_checkable
class ShownRowSource(Protocol):
    """Records that can be read as the narrow rows a table shows (services/export_sections.py
    and export_records.py read them from the vault, one kind at a time, oldest first)."""

    def shown_rows(self, kind: str, *, with_codes: bool) -> Iterator[ShownRow]: ...


@runtime_checkable
class KindCounts(Protocol):
    """Records that know how many of each kind there are without reading them."""

    def count_of(self, kind: str) -> int: ...


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

    def count_of(self, kind: str) -> int:
        """How many records of this kind there are."""
        if isinstance(self.records, KindCounts):
            return self.records.count_of(kind)
        return len(self.of_kind(kind))

    def shown_rows(self, kind: str, *, with_codes: bool = False) -> Iterator[ShownRow]:
        """The records of one kind as the rows a table shows, oldest first; `with_codes` also
        reads their resource type and codes (lab results, for the charts)."""
        if isinstance(self.records, ShownRowSource):
            return self.records.shown_rows(kind, with_codes=with_codes)
        return (ShownRow.of(entry) for entry in self.of_kind(kind))

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
