"""Write one prepared import file into the vault: whole in the caller's transaction, or a batch
at a time in its own; a file found to be another person's is rolled back and held."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterable, Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import orjson

from phr_desktop.interop.errors import UnreadableFile
from phr_desktop.services.import_commits import STAGE_COMMIT, ImportCommits
from phr_desktop.services.import_plan import FileOutcome
from phr_desktop.services.import_prepare import FHIR_CONTENT_TYPE, PreparedFile, stream_file
from phr_desktop.services.person import PersonCheck, PersonService
from phr_desktop.services.tasks import CancelToken, Progress, ProgressCallback
from phr_desktop.vault.database import transaction
from phr_desktop.vault.prepared import PackedDocument, PreparedResource, pack_document
from phr_desktop.vault.store import WriteCounts

if TYPE_CHECKING:
    from phr_desktop.services.session import Session

DEFAULT_SOURCE = "Imported files"
_BATCH = 5000

# The writer's stages in the import's breakdown (the store times its own, STAGE_RAW…).
STAGE_BATCH = "write: prepare batches of a streamed file"
STAGE_PERSON = "write: check the person"
STAGE_OTHER = "write: file row, audit, progress"


def _source_name(parsed: PreparedFile, explicit: str | None) -> str:
    return explicit or parsed.source_hint or DEFAULT_SOURCE


def _batches(items: Sequence[PreparedResource]) -> Iterator[Sequence[PreparedResource]]:
    for start in range(0, len(items), _BATCH):
        yield items[start : start + _BATCH]


def import_prepared_file(
    session: Session,
    parsed: PreparedFile,
    source_name: str | None,
    progress: ProgressCallback,
    cancel: CancelToken,
    same_person: bool,
    commits: ImportCommits,
) -> None:
    """One prepared file, handed to `commits`: a streamed one alone, the rest in a shared
    transaction; an unparseable one keeps its bytes, an unreadable one is only noted."""
    path = parsed.path
    gate = _PersonGate(session, same_person)
    if parsed.streamed:  # written a batch at a time: it may fail part way, so it goes alone
        commits.alone(lambda: _import_streamed(session, path, source_name, progress, cancel, gate))
        return
    document = parsed.document
    if parsed.error is not None or document is None or parsed.resources is None:
        failed = FileOutcome(str(path), "failed", error=str(parsed.error))
        if document is None:
            commits.note(failed)
            return

        def keep_unparseable() -> FileOutcome:  # readable but not parseable: keep the bytes
            _keep_unparseable(session, path, document, str(parsed.error))
            return failed

        commits.in_group(document.size, keep_unparseable)
        return
    resources = parsed.resources
    name = _source_name(parsed, source_name)
    groups = [(group, _batches(items)) for group, items in _by_source(parsed, name, source_name)]
    # In a shared transaction nothing of a file may be rolled back alone: whatever may refuse
    # it (a cancel, another person's Patient) is checked before it writes anything.
    cancel.raise_if_cancelled()
    commits.in_group(
        document.size,
        lambda: _write_file(
            session, path, parsed.content_type, document, name, groups, len(resources),
            progress, cancel, gate, whole=resources,
        ),
    )  # fmt: skip


class _HeldFile(Exception):
    """A file found to be another person's while it was being written (rolled back)."""

    def __init__(self, check: PersonCheck) -> None:
        super().__init__(check.reason)
        self.check = check


class _PersonGate:
    """Every Patient of a file, compared with the profile's person before its batch is
    written: another person's file is rolled back whole and held, also when it is written a
    batch at a time. The first Patient a profile sees becomes its person."""

    def __init__(self, session: Session, same_person: bool) -> None:
        self.person = PersonService(session)
        self.same_person = same_person

    def __call__(self, batch: Sequence[PreparedResource]) -> None:
        patients = _patients(batch)
        if not patients:
            return
        check = self.person.check(patients)
        if check.held and not self.same_person:
            raise _HeldFile(check)
        self.person.adopt_or_confirm(check, "import", self.same_person)


def _import_streamed(
    session: Session,
    path: Path,
    source_name: str | None,
    progress: ProgressCallback,
    cancel: CancelToken,
    gate: Callable[[Sequence[PreparedResource]], None],
) -> FileOutcome:
    """A file with too many resources to hold at once, prepared and written a batch at a time
    in the one transaction of the file: a fault found late still leaves none of it."""
    try:
        streamed = stream_file(path, _BATCH)
    except UnreadableFile as exc:
        with contextlib.suppress(OSError, UnreadableFile), transaction(session.vault.conn):
            _keep_unparseable(session, path, pack_document(path.read_bytes()), str(exc))
        return FileOutcome(str(path), "failed", error=str(exc))
    name = source_name or streamed.source_hint or DEFAULT_SOURCE
    try:
        return _write_file(
            session, path, FHIR_CONTENT_TYPE, streamed.document, name,
            [(name, streamed.batches)], None, progress, cancel, gate,
        )  # fmt: skip
    except UnreadableFile as exc:  # the transaction has been rolled back
        with transaction(session.vault.conn):
            _keep_unparseable(session, path, streamed.document, str(exc))
        return FileOutcome(str(path), "failed", error=str(exc))


def _write_file(
    session: Session,
    path: Path,
    content_type: str,
    document: PackedDocument,
    name: str,
    groups: Iterable[tuple[str, Iterable[Sequence[PreparedResource]]]],
    total: int | None,
    progress: ProgressCallback,
    cancel: CancelToken,
    gate: Callable[[Sequence[PreparedResource]], None],
    whole: Sequence[PreparedResource] | None = None,
) -> FileOutcome:
    """The file and its resources; each group of resources goes to the source it names
    (`name` unless our own export said otherwise). With `whole` (every resource of the file)
    the file is written in the caller's transaction, its person checked before anything is
    written and no cancel taken part way; else in a transaction of its own, a batch at a
    time, each batch checked before it is written."""
    conn = session.vault.conn
    counts = WriteCounts()
    times = session.store.times
    try:
        times.start_lap()
        if whole is not None:
            gate(whole)
            times.lap(STAGE_PERSON)
        with transaction(conn) if whole is None else contextlib.nullcontext():
            source_id = session.store.ensure_source("fhir_file", name)
            document_id = session.store.add_packed_document(
                source_id, path.name, content_type, document
            )
            times.lap(STAGE_OTHER)
            done = 0
            for group_name, batches in groups:
                group_source = source_id
                if group_name != name:
                    group_source = session.store.ensure_source("fhir_file", group_name)
                for batch in batches:
                    times.lap(STAGE_BATCH)
                    if whole is None:
                        cancel.raise_if_cancelled()
                        gate(batch)
                    times.lap(STAGE_PERSON)
                    counts.add(
                        session.store.write_prepared(group_source, document_id, batch, group_name)
                    )
                    done += len(batch)
                    of = f" of {total:,}" if total is not None else ""
                    progress(Progress(done, total, f"{path.name}: {done:,}{of} records"))
                    times.lap(STAGE_OTHER)
            session.vault.audit.append(
                "import", resources=done, new=counts.new, updated=counts.updated
            )
            times.lap(STAGE_OTHER)
        times.lap(STAGE_COMMIT)
    except _HeldFile as held:  # rolled back: nothing of another person's is stored
        check = held.check
        session.vault.audit.append("import_held", verdict=check.verdict.value)  # no names
        return FileOutcome(
            str(path), "other_person", error=check.message("This file"), person=check
        )
    status = "imported" if counts.new or counts.updated or counts.older_kept else "unchanged"
    return FileOutcome(str(path), status, counts)


def _by_source(
    parsed: PreparedFile, name: str, explicit: str | None
) -> Iterator[tuple[str, Sequence[PreparedResource]]]:
    """The file's resources by the source each names (meta.source): our own FHIR export holds
    several, and each resource goes back to its own, so importing it again adds nothing.
    Resources that name none, or every resource when --source is given, go to `name`."""
    resources = parsed.resources or []
    if parsed.resource_sources is None or explicit:
        yield name, resources
        return
    groups: dict[str, list[PreparedResource]] = {}
    for item, own in zip(resources, parsed.resource_sources, strict=True):
        groups.setdefault(own or name, []).append(item)
    yield from groups.items()


def _patients(resources: Sequence[PreparedResource]) -> list[dict[str, Any]]:
    """The file's Patient resources, read from their exact bodies (a few per file)."""
    return [orjson.loads(item[3]) for item in resources if item[0] == "Patient"]


def _keep_unparseable(session: Session, path: Path, document: PackedDocument, error: str) -> None:
    """Raw source documents are always kept, even when they cannot be parsed (inside the
    caller's transaction)."""
    session.store.add_packed_document(
        None, path.name, "application/octet-stream", document, parse_error=error
    )
