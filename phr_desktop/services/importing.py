"""Import FHIR files into a profile: one transaction per file, so a crash keeps all or nothing.

Every file received is kept byte for byte, also when it cannot be parsed; its resources are kept
raw and normalised into records.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import orjson

from phr_desktop.interop.ccda_import import CCDA_CONTENT_TYPE, parse_ccda
from phr_desktop.interop.errors import UnreadableFile
from phr_desktop.interop.fhir_json import MAX_FILE_BYTES, ParsedResource, parse_fhir_json
from phr_desktop.services.tasks import Cancelled, CancelToken, Progress, ProgressCallback
from phr_desktop.services.terminology import normalise_resource
from phr_desktop.vault.database import transaction
from phr_desktop.vault.store import WriteCounts, now_iso

if TYPE_CHECKING:
    from phr_desktop.services.session import Session

FHIR_SUFFIXES = (".json", ".ndjson", ".jsonl", ".xml")  # .xml: C-CDA
DEFAULT_SOURCE = "Imported files"
_BATCH = 5000


@dataclass
class FileOutcome:
    path: str
    status: str  # imported, unchanged, failed
    counts: WriteCounts | None = None
    error: str | None = None

    def as_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"path": self.path, "status": self.status}
        if self.counts:
            out["counts"] = self.counts.as_dict()
        if self.error:
            out["error"] = self.error
        return out


@dataclass
class ImportReport:
    files: list[FileOutcome] = field(default_factory=list)
    totals: WriteCounts = field(default_factory=WriteCounts)

    @property
    def failed(self) -> list[FileOutcome]:
        return [f for f in self.files if f.status == "failed"]

    def as_dict(self) -> dict[str, Any]:
        return {"files": [f.as_dict() for f in self.files], "totals": self.totals.as_dict()}


def expand_paths(paths: Sequence[Path]) -> list[Path]:
    """Files as given, and the FHIR files inside folders (recursively, in name order)."""
    out: list[Path] = []
    for path in paths:
        if path.is_dir():
            out.extend(
                sorted(
                    p for p in path.rglob("*") if p.is_file() and p.suffix.lower() in FHIR_SUFFIXES
                )
            )
        else:
            out.append(path)
    return out


def _source_name(resources: Sequence[ParsedResource], explicit: str | None) -> str:
    if explicit:
        return explicit
    for item in resources:
        meta = item.resource.get("meta")
        if (
            isinstance(meta, dict)
            and isinstance(meta.get("source"), str)
            and meta["source"].strip()
        ):
            return meta["source"].strip()
    return DEFAULT_SOURCE


def _batches(items: Sequence[ParsedResource]) -> Iterator[Sequence[ParsedResource]]:
    for start in range(0, len(items), _BATCH):
        yield items[start : start + _BATCH]


class _Job:
    """The import_jobs row: written outside the file transactions, so failures are recorded."""

    def __init__(self, session: Session, label: str) -> None:
        self.conn = session.vault.conn
        cur = self.conn.execute(
            "INSERT INTO import_jobs (kind, label, status, started_at) VALUES (?, ?, 'running', ?)",
            ("fhir_file", label, now_iso()),
        )
        self.id = int(cur.lastrowid or 0)

    def finish(self, status: str, report: ImportReport) -> None:
        errors = [{"path": f.path, "error": f.error} for f in report.failed]
        self.conn.execute(
            "UPDATE import_jobs SET status = ?, finished_at = ?, counts = ?, errors = ? "
            "WHERE id = ?",
            (
                status,
                now_iso(),
                orjson.dumps(report.totals.as_dict()).decode(),
                orjson.dumps(errors).decode(),
                self.id,
            ),
        )


def import_paths(
    session: Session,
    paths: Sequence[Path],
    *,
    source_name: str | None,
    progress: ProgressCallback,
    cancel: CancelToken,
) -> ImportReport:
    files = expand_paths(paths)
    report = ImportReport()
    job = _Job(session, f"{len(files)} file(s)")
    status = "failed"
    # The next file is read and parsed on a worker thread while this one is written: SQLite
    # releases the GIL while it encrypts and writes, so the two overlap on a second core.
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="phr-import-read") as reader:
        upcoming = [reader.submit(_read_and_parse, path) for path in files[:1]]
        try:
            for index, path in enumerate(files):
                cancel.raise_if_cancelled()
                progress(Progress(index, len(files), f"Importing {path.name}"))
                parsed = upcoming.pop().result()
                if index + 1 < len(files):
                    upcoming.append(reader.submit(_read_and_parse, files[index + 1]))
                outcome = _import_file(session, parsed, source_name, progress, cancel)
                report.files.append(outcome)
                if outcome.counts:
                    report.totals.add(outcome.counts)
            progress(Progress(len(files), len(files), "Import finished"))
            status = "completed" if not report.failed else "completed_with_errors"
        except BaseException as exc:
            status = "cancelled" if isinstance(exc, Cancelled) else "failed"
            for future in upcoming:
                future.cancel()
            raise
        finally:
            job.finish(status, report)
    return report


@dataclass
class _ParsedFile:
    path: Path
    data: bytes | None = None
    resources: list[ParsedResource] | None = None
    error: UnreadableFile | None = None


def _read(path: Path) -> bytes:
    try:
        size = path.stat().st_size
    except FileNotFoundError:
        raise UnreadableFile(str(path), None, None, "the file does not exist") from None
    if size > MAX_FILE_BYTES:
        raise UnreadableFile(
            path.name, None, None, f"the file is larger than {MAX_FILE_BYTES // 2**20} MiB"
        )
    return path.read_bytes()


def _is_ccda(path: Path) -> bool:
    return path.suffix.lower() == ".xml"


def _read_and_parse(path: Path) -> _ParsedFile:
    try:
        data = _read(path)
    except UnreadableFile as exc:
        return _ParsedFile(path, error=exc)
    try:
        parse = parse_ccda if _is_ccda(path) else parse_fhir_json
        return _ParsedFile(path, data, parse(data, path.name))
    except UnreadableFile as exc:
        return _ParsedFile(path, data, error=exc)


def _import_file(
    session: Session,
    parsed: _ParsedFile,
    source_name: str | None,
    progress: ProgressCallback,
    cancel: CancelToken,
) -> FileOutcome:
    path = parsed.path
    if parsed.error is not None or parsed.data is None or parsed.resources is None:
        if parsed.data is not None:  # readable but not parseable: keep the bytes anyway
            _keep_unparseable(session, path, parsed.data, str(parsed.error))
        return FileOutcome(str(path), "failed", error=str(parsed.error))
    data, resources = parsed.data, parsed.resources

    conn = session.vault.conn
    counts = WriteCounts()
    name = _source_name(resources, source_name)
    with transaction(conn):
        source_id = session.store.ensure_source("fhir_file", name)
        document_id = session.store.add_document(
            source_id,
            path.name,
            CCDA_CONTENT_TYPE if _is_ccda(path) else "application/fhir+json",
            data,
        )
        done = 0
        for batch in _batches(resources):
            cancel.raise_if_cancelled()
            counts.add(
                session.store.write_resources(
                    source_id, document_id, batch, normalise_resource, name
                )
            )
            done += len(batch)
            progress(
                Progress(done, len(resources), f"{path.name}: {done} of {len(resources)} resources")
            )
        session.vault.audit.append(
            "import", resources=len(resources), new=counts.new, updated=counts.updated
        )
    status = "imported" if counts.new or counts.updated or counts.older_kept else "unchanged"
    return FileOutcome(str(path), status, counts)


def _keep_unparseable(session: Session, path: Path, data: bytes, error: str) -> None:
    """Raw source documents are always kept, even when they cannot be parsed."""
    with transaction(session.vault.conn):
        session.store.add_document(
            None, path.name, "application/octet-stream", data, parse_error=error
        )
