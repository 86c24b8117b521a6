"""What the record detail shows beside a record's own fields: the people it names (who ordered,
performed, read it) and, for imaging, the study's size and the report that reads it (or, from a
report, the studies it reads)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from phr_desktop.domain.imaging import ImagingSummary, imaging_summary, report_reads_study
from phr_desktop.domain.participants import Participant, participants
from phr_desktop.vault.database import Connection
from phr_desktop.vault.queries import RecordQueries
from phr_desktop.vault.raw_json import load_raw
from phr_desktop.vault.raw_lookup import current_raw, record_source_id, records_of_type
from phr_desktop.vault.stored_record import StoredRecord


@dataclass(frozen=True)
class RecordContext:
    people: tuple[Participant, ...]
    imaging: ImagingSummary | None  # set for an ImagingStudy
    linked: tuple[StoredRecord, ...]  # a study's reports, or a report's studies


def _resource(body: bytes | None) -> Mapping[str, Any] | None:
    if body is None:
        return None
    try:
        value = load_raw(body)
    except ValueError:
        return None  # stored as sent even when it is not JSON we can read: show no context
    return value if isinstance(value, dict) else None


def record_context(queries: RecordQueries, record_id: int) -> RecordContext:
    conn: Connection = queries.conn
    resource = _resource(queries.raw_body(record_id))
    if resource is None:
        return RecordContext((), None, ())
    source_id = record_source_id(conn, record_id)

    def find(resource_type: str, resource_id: str) -> Mapping[str, Any] | None:
        return _resource(current_raw(conn, resource_type, resource_id, source_id))

    rtype = resource.get("resourceType")
    imaging = imaging_summary(resource) if rtype == "ImagingStudy" else None
    linked_ids: list[int] = []
    if rtype == "ImagingStudy":
        for other_id, body in records_of_type(conn, "DiagnosticReport"):
            report = _resource(body)
            if report is not None and report_reads_study(report, resource):
                linked_ids.append(other_id)
    elif rtype == "DiagnosticReport":
        for other_id, body in records_of_type(conn, "ImagingStudy"):
            study = _resource(body)
            if study is not None and report_reads_study(resource, study):
                linked_ids.append(other_id)
    return RecordContext(
        people=tuple(participants(resource, find)),
        imaging=imaging,
        linked=tuple(queries.records_by_ids(linked_ids)) if linked_ids else (),
    )
