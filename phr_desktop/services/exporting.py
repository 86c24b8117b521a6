"""Export use cases: gather the chosen records once, then hand them to one format's exporter."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from phr_desktop import __version__
from phr_desktop.interop.export_data import ExportData, ExportRecord
from phr_desktop.services.errors import ServiceError
from phr_desktop.services.export_bodies import BatchedBodies
from phr_desktop.services.export_records import PagedRecords
from phr_desktop.services.export_sections import SectionRecords
from phr_desktop.services.output_files import check_output_path, write_output_file
from phr_desktop.services.sensitivity import SensitivityCounts, sensitivity_counts
from phr_desktop.services.tasks import CancelToken, Progress, ProgressCallback, no_progress
from phr_desktop.services.terminology import aatd_pack
from phr_desktop.vault.queries import RecordFilter
from phr_desktop.vault.stored_record import StoredRecord

if TYPE_CHECKING:
    from phr_desktop.services.session import Session

FORMATS = ("ccda", "pdf", "fhir", "ips", "csv", "emergency", "wallet")
EVERY_SOURCE_FORMATS = frozenset({"fhir", "emergency", "wallet"})
# The exports written as they are made, which read their records a page at a time: the
# others go over their records several times, or keep them all.
WALKED_FORMATS = frozenset({"ccda", "fhir", "pdf"})


def build_export_data(
    session: Session,
    since: str | None = None,
    kinds: Sequence[str] = (),
    *,
    record_ids: Sequence[int] | None = None,
    every_source: bool = False,
    include_restricted: bool = False,
    walked: bool = False,
    by_section: bool = False,
) -> ExportData:
    """The chosen records, oldest first: by kinds and date (restricted ones only when
    included), or (sharing) exactly these ids, already chosen by that rule.

    Each fact once, unless `every_source` (the FHIR collection: every raw resource).
    `walked`: the records are read a page at a time as the exporter walks them (the exports
    that stream, of 500k records), not all gathered now; `by_section` as well, and counted by
    kind up front rather than keyed one by one (the record PDF, which reads a kind at a time)."""
    record_filter = RecordFilter(
        kinds=tuple(kinds),
        since=since,
        every_source=every_source,
        include_restricted=include_restricted,
    )
    notes = _notes_by_record(session)
    records: Sequence[ExportRecord]
    if by_section and record_ids is None:
        records = SectionRecords(session, record_filter, notes)
    elif walked and record_ids is None:
        records = PagedRecords.read(session, record_filter, notes)
    else:
        records = _gathered(session, record_filter, record_ids, notes)
    # The patient's own details travel in every export, whatever their label. The patient's
    # body is read now: every export's header needs it, and the patient's details stay
    # readable after the session closes.
    patient_rows = session.records(
        RecordFilter(kinds=("patient",), every_source=every_source, include_restricted=True)
    )

    def read_now(s: StoredRecord) -> ExportRecord:
        return ExportRecord(s.id, s.record, session.raw_source(s.id), notes.get(s.id, ()))

    return ExportData(
        patient=read_now(patient_rows[-1]) if patient_rows else None,
        other_patients=tuple(read_now(s) for s in reversed(patient_rows[:-1])),
        records=records,
        pack=aatd_pack(),
        generated_at=datetime.now(UTC).isoformat(timespec="seconds"),
        app_version=__version__,
        since=since,
        kinds=tuple(kinds),
    )


def _notes_by_record(session: Session) -> dict[int, tuple[str, ...]]:
    notes: dict[int, list[str]] = {}
    for record_id, text in session.vault.conn.execute(
        "SELECT record_id, text FROM notes WHERE record_id IS NOT NULL ORDER BY id"
    ):
        notes.setdefault(record_id, []).append(text)
    return {record_id: tuple(texts) for record_id, texts in notes.items()}


def _gathered(
    session: Session,
    record_filter: RecordFilter,
    record_ids: Sequence[int] | None,
    notes: dict[int, tuple[str, ...]],
) -> tuple[ExportRecord, ...]:
    """Every chosen record (but the Patient) gathered now, oldest first; their bodies are
    read as the exporter walks them, a batch at a time, so the session stays open while
    exporting."""
    if record_ids is None:
        stored = session.records(record_filter)
        stored.reverse()  # oldest first
    else:
        stored = session.records_by_ids(sorted(set(record_ids)))
        stored.sort(key=lambda s: (s.record.effective.text if s.record.effective else "", s.id))
    stored = [s for s in stored if s.record.kind.value != "patient"]
    bodies = BatchedBodies(session.raw_sources, ((s.id, s.record.kind.value) for s in stored))
    return tuple(ExportRecord(s.id, s.record, bodies, notes.get(s.id, ())) for s in stored)


def export(
    session: Session,
    fmt: str,
    output: Path,
    *,
    since: str | None = None,
    kinds: Sequence[str] = (),
    shift_days: int = 0,
    deidentify: bool = False,
    progress: ProgressCallback = no_progress,
    cancel: CancelToken | None = None,
    include_restricted: bool = False,
) -> Path:
    """Write one export, 0600; the file appears only when complete (written beside, then
    renamed), and a missing folder or a path that is not a regular file is refused first."""
    if fmt not in FORMATS:
        raise ServiceError(f"Unknown export format {fmt!r}; choose one of {', '.join(FORMATS)}.")
    if (shift_days or deidentify) and fmt != "csv":
        raise ServiceError("Date shifting and de-identification apply to the research CSV only.")
    check_output_path(output)
    cancel = cancel or CancelToken()
    progress(Progress(0, 2, "Gathering records"))
    # The FHIR collection keeps every raw resource; the emergency summary merges what several
    # sources say of one allergy or problem itself (one line, every source's reaction).
    data = build_export_data(
        session, since, kinds, every_source=fmt in EVERY_SOURCE_FORMATS,
        include_restricted=include_restricted, walked=fmt in WALKED_FORMATS,
        by_section=fmt == "pdf",
    )  # fmt: skip
    cancel.raise_if_cancelled()
    progress(Progress(1, 2, f"Writing {fmt}"))

    def write(path: Path) -> None:
        _write(fmt, data, path, shift_days=shift_days, deidentify=deidentify, cancel=cancel)
        cancel.raise_if_cancelled()

    write_output_file(output, write)
    session.vault.audit.append(
        "export", format=fmt, records=len(data.records), deidentified=deidentify,
        shifted=bool(shift_days), restricted_included=include_restricted,
    )  # fmt: skip
    progress(Progress(2, 2, "Export finished"))
    return output


def export_sensitivity(
    session: Session, since: str | None = None, kinds: Sequence[str] = ()
) -> SensitivityCounts:
    """How many records of an export's choice are at each level, restricted ones counted
    whether or not they would be included: what the export says and its checkbox offers."""
    ids = session.record_ids(RecordFilter(kinds=tuple(kinds), since=since, include_restricted=True))
    patient = set(session.record_ids(RecordFilter(kinds=("patient",), include_restricted=True)))
    return sensitivity_counts(session, [i for i in ids if i not in patient])


def _write(
    fmt: str,
    data: ExportData,
    path: Path,
    *,
    shift_days: int = 0,
    deidentify: bool = False,
    cancel: CancelToken | None = None,
) -> None:
    # Each exporter is imported when used: reportlab and lxml need not load for the others.
    if fmt == "ccda":
        from phr_desktop.interop.ccda.export import write_ccd

        with path.open("wb", buffering=_WRITE_BUFFER) as out:
            write_ccd(data, out, between=(cancel or CancelToken()).raise_if_cancelled)
    elif fmt == "pdf":
        from phr_desktop.interop.pdf.export import write_record_pdf

        write_record_pdf(data, path, between=(cancel or CancelToken()).raise_if_cancelled)
    elif fmt in ("emergency", "wallet"):
        from phr_desktop.interop.emergency.summary import write_emergency_pdf

        # The same facts either as one A4 page or as a card to cut out and fold (credit-card size).
        write_emergency_pdf(data, path, layout="wallet" if fmt == "wallet" else "page")
    elif fmt == "fhir":
        from phr_desktop.interop.fhir.export import write_collection_bundle

        write_collection_bundle(data, path, between=(cancel or CancelToken()).raise_if_cancelled)
    elif fmt == "ips":
        from phr_desktop.interop.fhir.export import ips_document

        path.write_bytes(ips_document(data))
    elif fmt == "csv":
        from phr_desktop.interop.research_csv import write_research_csv

        write_research_csv(data, path, shift_days=shift_days, deidentify=deidentify)


_WRITE_BUFFER = 1 << 20
