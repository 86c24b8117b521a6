"""The clinician's side of a share: opened, verified, then loaded into a database that lives in
memory only, so the same timeline, record and AATD screens show it with no profile and nothing
written to disk. The only writes are the exports the clinician asks for (PDF, C-CDA)."""

from __future__ import annotations

import base64
import binascii
import hashlib
from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson

from phr_desktop import __version__
from phr_desktop.domain.records import RecordKind
from phr_desktop.interop.export_data import ExportData, ExportRecord
from phr_desktop.interop.fhir.fhir_json import ParsedResource, dump_json_exact
from phr_desktop.services.errors import ServiceError
from phr_desktop.services.output_files import check_output_path, write_output_bytes
from phr_desktop.services.record_reader import RecordReader
from phr_desktop.services.share_opening import DEFAULT_LIMITS, Limits, ShareView, open_share
from phr_desktop.services.tasks import CancelToken, Progress, ProgressCallback, no_progress
from phr_desktop.services.terminology import aatd_pack, normalise_resource
from phr_desktop.sharing.bundle import PASSCODE_HEADER, b64url_decode
from phr_desktop.vault.database import Connection, open_memory_database, transaction
from phr_desktop.vault.migrations import migrate
from phr_desktop.vault.queries import RecordFilter
from phr_desktop.vault.store import RecordStore
from phr_desktop.vault.stored_record import StoredRecord
from phr_desktop.vault.timestamps import now_iso

__all__ = [
    "SHARE_EXPORT_FORMATS",
    "ShareSession",
    "open_share_session",
    "share_needs_passcode",
]

SHARE_EXPORT_FORMATS = ("pdf", "ccda")
_PATIENT_NOTE_CODE = "51855-5"  # LOINC "Patient Note": how exports carry the patient's notes
# The timeline shows what was shared; the Patient resource is the banner's, not a row.
_SHOWN_KINDS = tuple(k.value for k in RecordKind if k is not RecordKind.PATIENT)


@dataclass(frozen=True)
class _Entry:
    full_url: str
    resource: ParsedResource


class ShareSession(RecordReader):
    """A verified share, read-only, in memory. Everything the record views read is here; no
    note, correction, import, sync or share can be made (the database is query-only)."""

    where = "in this share"

    def __init__(self, view: ShareView, conn: Connection, patient_record_id: int | None) -> None:
        super().__init__(conn)
        # The patient chose what to share, restricted records included on purpose: the
        # clinician sees every record the share holds.
        self.queries.reveal_restricted = True
        # False for a view-only share: the viewer offers no saving of its files.
        self.allow_save = view.allow_save
        # The facts for the banner; the bundle and records now live in the database.
        self.view = replace(view, bundle={}, attachments=[])
        self.file_count = len(view.attachments)
        self.patient_record_id = patient_record_id
        self._conn = conn

    @property
    def profile_name(self) -> str:
        return self.view.patient_name or "Unnamed patient"

    def is_expired(self, now: datetime | None = None) -> bool:
        return (now or datetime.now(UTC)) >= self.view.expires_at

    def close(self) -> None:
        self._conn.close()

    def __enter__(self) -> ShareSession:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- the timeline lists the shared records, not the Patient resource ------------------------

    def _listed(self, record_filter: RecordFilter) -> RecordFilter:
        return record_filter if record_filter.kinds else replace(record_filter, kinds=_SHOWN_KINDS)

    # --- saving what the clinician chooses to keep ----------------------------------------------

    def export_data(self) -> ExportData:
        stored = self.records(RecordFilter(kinds=_SHOWN_KINDS))
        stored.reverse()  # oldest first
        patients = self.records(RecordFilter(kinds=(RecordKind.PATIENT.value,)))

        def exported(s: StoredRecord) -> ExportRecord:
            body = self.raw_source(s.id)
            notes = tuple(text for _id, text, _when in self.notes(s.id))
            return ExportRecord(s.id, s.record, body, notes)

        return ExportData(
            patient=exported(patients[0]) if patients else None,
            records=tuple(exported(s) for s in stored),
            pack=aatd_pack(),
            generated_at=datetime.now(UTC).isoformat(timespec="seconds"),
            app_version=__version__,
        )

    def export(
        self,
        fmt: str,
        output: Path,
        *,
        progress: ProgressCallback = no_progress,
        cancel: CancelToken | None = None,
    ) -> Path:
        """Write the shared records as a PDF or a C-CDA CCD (0600); the file appears only
        complete, in a folder that exists, never over anything but a regular file."""
        if fmt not in SHARE_EXPORT_FORMATS:
            raise ServiceError(f"A share can be saved as {' or '.join(SHARE_EXPORT_FORMATS)}.")
        check_output_path(output)
        cancel = cancel or CancelToken()
        progress(Progress(0, 2, "Gathering the shared records"))
        data = self.export_data()
        cancel.raise_if_cancelled()
        progress(Progress(1, 2, f"Writing {fmt.upper()}"))
        if fmt == "pdf":
            from phr_desktop.interop.pdf.export import record_pdf_bytes

            content = record_pdf_bytes(data)
        else:
            from phr_desktop.interop.ccda.export import build_ccd

            content = build_ccd(data)
        cancel.raise_if_cancelled()
        write_output_bytes(output, content)
        progress(Progress(2, 2, "Saved"))
        return output


def share_needs_passcode(path: Path) -> bool:
    """Whether the file says it also needs a passcode (read from its header, not decrypted), so
    the dialog can ask for one. An unreadable header says no: opening will say what is wrong."""
    try:
        with path.open("rb") as file:
            head = file.read(4096)
    except OSError:
        return False
    try:
        header = orjson.loads(b64url_decode(head.split(b".", 1)[0].decode("ascii")))
    except ValueError:  # bad base64, bad UTF-8 and bad JSON are all ValueErrors
        return False
    return isinstance(header, dict) and PASSCODE_HEADER in header


def open_share_session(
    path: Path,
    key: str,
    *,
    passcode: str | None = None,
    now: datetime | None = None,
    limits: Limits = DEFAULT_LIMITS,
    progress: ProgressCallback = no_progress,
    cancel: CancelToken | None = None,
) -> ShareSession:
    """Decrypt and verify `path` (ShareError if anything is wrong, and nothing is shown), then
    load its records into memory for the record views."""
    cancel = cancel or CancelToken()
    progress(Progress(0, 2, "Decrypting the file and checking its signature"))
    view = open_share(path, key, passcode=passcode or None, now=now, limits=limits)
    cancel.raise_if_cancelled()
    progress(Progress(1, 2, f"Loading {view.record_count:,} records"))
    conn = open_memory_database()
    try:
        migrate(conn, Path(":memory:"))
        patient_id = _load(conn, view)
        cancel.raise_if_cancelled()
        conn.execute("PRAGMA query_only = ON")  # from here on the share cannot be changed
    except BaseException:
        conn.close()
        raise
    progress(Progress(2, 2, "Opened"))
    return ShareSession(view, conn, patient_id)


# --- loading ---------------------------------------------------------------------------------


def _entries(bundle: dict[str, Any]) -> Iterator[_Entry]:
    for entry in bundle.get("entry") or []:
        resource = entry.get("resource") if isinstance(entry, dict) else None
        if not isinstance(resource, dict) or not isinstance(resource.get("resourceType"), str):
            continue
        if resource["resourceType"] == "Binary":  # a file: it belongs to a record, see below
            continue
        body = dump_json_exact(resource)  # numbers as the patient's vault stored them
        parsed = ParsedResource(resource, body, hashlib.sha256(body).hexdigest())
        yield _Entry(str(entry.get("fullUrl") or ""), parsed)


def _note_of(resource: dict[str, Any], urls: set[str]) -> tuple[str, str] | None:
    """(annotated record's fullUrl, text) when this is one of the patient's own notes."""
    if resource.get("resourceType") != "DocumentReference":
        return None
    codings = (resource.get("type") or {}).get("coding") or []
    if not any(isinstance(c, dict) and c.get("code") == _PATIENT_NOTE_CODE for c in codings):
        return None
    related = (resource.get("context") or {}).get("related") or []
    target = next(
        (r.get("reference") for r in related if isinstance(r, dict) and r.get("reference") in urls),
        None,
    )
    content = resource.get("content") or []
    attachment = content[0].get("attachment") if content and isinstance(content[0], dict) else None
    if target is None or not isinstance(attachment, dict):
        return None
    try:
        text = base64.b64decode(str(attachment.get("data") or ""), validate=True).decode("utf-8")
    except (binascii.Error, ValueError):
        return None
    return str(target), text


def _layers(entries: list[_Entry]) -> list[list[_Entry]]:
    """Records from different sources may share a type and id ("Observation/1" from two
    hospitals); the store keeps one per source, so each repeat goes into a further layer."""
    layers: list[list[_Entry]] = []
    seen: dict[tuple[str, str], int] = {}
    for entry in entries:
        key = (entry.resource.resource_type, entry.resource.resource_id)
        depth = seen.get(key, 0)
        seen[key] = depth + 1
        if depth == len(layers):
            layers.append([])
        layers[depth].append(entry)
    return layers


def _load(conn: Connection, view: ShareView) -> int | None:
    """Write the share's resources, the patient's notes and files; the Patient record's id."""
    entries = list(_entries(view.bundle))
    urls = {e.full_url for e in entries if e.full_url}
    notes: list[tuple[str, str]] = []
    resources: list[_Entry] = []
    for entry in entries:
        note = _note_of(entry.resource.resource, urls)
        if note is not None:
            notes.append(note)
        else:
            resources.append(entry)
    shown_as = f"Shared by {view.patient_name}" if view.patient_name else "Shared file"
    store = RecordStore(conn)
    record_of_url: dict[str, int] = {}
    with transaction(conn):
        for depth, layer in enumerate(_layers(resources), start=1):
            source_id = store.ensure_source("share", f"share layer {depth}")
            store.write_resources(
                source_id, None, [e.resource for e in layer], normalise_resource, shown_as
            )
            ids = {
                (rtype, rid): record_id
                for record_id, rtype, rid in conn.execute(
                    "SELECT id, resource_type, resource_id FROM records WHERE source_id = ?",
                    (source_id,),
                )
            }
            for e in layer:
                found = ids.get((e.resource.resource_type, e.resource.resource_id))
                if found is not None and e.full_url:
                    record_of_url[e.full_url] = found
        _add_notes(conn, notes, record_of_url)
        _add_files(conn, view, record_of_url)
    row = conn.execute(
        "SELECT id FROM records WHERE kind = ? ORDER BY id LIMIT 1", (RecordKind.PATIENT.value,)
    ).fetchone()
    return int(row[0]) if row else None


def _add_notes(
    conn: Connection, notes: list[tuple[str, str]], record_of_url: dict[str, int]
) -> None:
    # A shared note carries no date of its own; an empty one reads better than today's.
    rows = [(record_of_url[url], text) for url, text in notes if url in record_of_url]
    conn.executemany(
        "INSERT INTO notes (record_id, text, created_at, updated_at) VALUES (?, ?, '', '')", rows
    )
    conn.executemany(
        "UPDATE search_index SET notes = (SELECT coalesce(group_concat(text, ' '), '') "
        "FROM notes WHERE record_id = ?1) WHERE rowid = ?1",
        sorted({(record_id,) for record_id, _text in rows}),
    )


def _add_files(conn: Connection, view: ShareView, record_of_url: dict[str, int]) -> None:
    stamp = now_iso()
    conn.executemany(
        "INSERT INTO attachments (raw_id, record_id, filename, content_type, size, sha256, "
        "data, created_at) VALUES (NULL, ?, ?, ?, ?, ?, ?, ?)",
        [
            (
                record_of_url.get(a.owner_reference), a.filename, a.content_type, a.size,
                hashlib.sha256(a.data).hexdigest(), a.data, stamp,
            )
            for a in view.attachments
        ],
    )  # fmt: skip
