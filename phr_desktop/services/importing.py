"""Import FHIR files into a profile: every file is committed whole or not at all (small files
several to a transaction, `import_commits`), so a crash never leaves part of a file.

Every file received is kept byte for byte, also when it cannot be parsed; its resources are kept
raw and normalised into records.
"""

from __future__ import annotations

import contextlib
import gc
import logging
import multiprocessing
import os
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import (
    BrokenExecutor,
    Executor,
    Future,
    ProcessPoolExecutor,
    ThreadPoolExecutor,
)
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import orjson

from phr_desktop.interop.errors import UnreadableFile
from phr_desktop.services.import_channel import ChunkChannel
from phr_desktop.services.import_commits import STAGE_COMMIT, ImportCommits
from phr_desktop.services.import_plan import FileOutcome, plan_import
from phr_desktop.services.import_prepare import (
    FHIR_CONTENT_TYPE,
    PreparedFile,
    load_prepared,
    prepare_file,
    prepare_file_pickled,
    start_worker,
    stream_file,
)
from phr_desktop.services.large_blocks import give_back_large_blocks
from phr_desktop.services.person import PersonCheck, PersonService
from phr_desktop.services.tasks import Cancelled, CancelToken, Progress, ProgressCallback
from phr_desktop.vault.database import bulk_writes, transaction
from phr_desktop.vault.prepared import PackedDocument, PreparedResource, pack_document
from phr_desktop.vault.stage_times import StageTimes
from phr_desktop.vault.timestamps import now_iso
from phr_desktop.vault.write_types import WriteCounts

if TYPE_CHECKING:
    from phr_desktop.services.session import Session

DEFAULT_SOURCE = "Imported files"
_BATCH = 5000
# Imports of at least this much (in two files or more, with a second core to run on) are
# prepared on a worker process.
PROCESS_MIN_BYTES = 8 * 2**20
_PREFETCH = 2  # files prepared ahead of the one being written

log = logging.getLogger(__name__)

# The writer's stages in the import's breakdown (the store times its own, STAGE_RAW…).
STAGE_WAIT = "write: wait for the next file"
STAGE_UNPICKLE = "write: unpickle the prepared file"
STAGE_BATCH = "write: prepare batches of a streamed file"
STAGE_PERSON = "write: check the person"
STAGE_OTHER = "write: file row, audit, progress"


@dataclass
class ImportReport:
    files: list[FileOutcome] = field(default_factory=list)
    totals: WriteCounts = field(default_factory=WriteCounts)
    # Where the time went, by stage, the preparing (worker) stages included; not in as_dict.
    times: StageTimes = field(default_factory=StageTimes)

    @property
    def failed(self) -> list[FileOutcome]:
        return [f for f in self.files if f.status == "failed"]

    @property
    def skipped(self) -> list[FileOutcome]:
        return [f for f in self.files if f.status == "skipped"]

    @property
    def other_person(self) -> list[FileOutcome]:
        """Files held because they are (or may be) another person's: nothing was stored."""
        return [f for f in self.files if f.status == "other_person"]

    def as_dict(self) -> dict[str, Any]:
        return {"files": [f.as_dict() for f in self.files], "totals": self.totals.as_dict()}


def _source_name(parsed: PreparedFile, explicit: str | None) -> str:
    return explicit or parsed.source_hint or DEFAULT_SOURCE


def _batches(items: Sequence[PreparedResource]) -> Iterator[Sequence[PreparedResource]]:
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
    same_person: bool = False,
) -> ImportReport:
    """Import files; `same_person`: the patient confirmed that files held as another
    person's are theirs (their names are remembered as aliases)."""
    plan = plan_import(paths)
    files = plan.files
    report = ImportReport()
    job = _Job(session, f"{len(files)} file(s)")
    status = "failed"
    store_times, session.store.times = session.store.times, report.times
    # The writer receives and unpickles each file's large blocks: freed ones go back too.
    give_back_large_blocks()

    def committed(outcome: FileOutcome) -> None:
        report.files.append(outcome)
        if outcome.counts:
            report.totals.add(outcome.counts)

    commits = ImportCommits(session.vault.conn, committed, report.times)
    with (
        _Prefetcher(files, report.times) as prefetcher,
        bulk_writes(session.vault.conn),
        _collector_paused(),
    ):
        try:
            index = 0
            for step in plan.steps:
                if isinstance(step, FileOutcome):
                    commits.note(step)
                    continue
                cancel.raise_if_cancelled()
                progress(Progress(index, len(files), f"Importing {step.name}"))
                _import_file(
                    session, prefetcher.next(), source_name, progress, cancel, same_person,
                    commits,
                )  # fmt: skip
                index += 1
            commits.commit()
            progress(Progress(len(files), len(files), "Import finished"))
            status = "completed" if not report.failed else "completed_with_errors"
        except BaseException as exc:
            status = "cancelled" if isinstance(exc, Cancelled) else "failed"
            if isinstance(exc, Cancelled):
                commits.commit()  # the files written so far are whole
            else:
                commits.roll_back()
            raise
        finally:
            session.store.times = store_times
            job.finish(status, report)
    return report


@contextlib.contextmanager
def _collector_paused() -> Iterator[None]:
    """No cyclic garbage collection while files are written: the writer unpickles and builds
    millions of small tuples (no cycles; reference counting frees them), and the collector
    walked them again and again (measured: ~0.4 s of the writer's ~8 s at 100k resources).
    Process-wide, so only for the import's length; whatever cycles other threads make in
    the meantime are collected once it is back on."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def _total_size(files: Sequence[Path]) -> int:
    total = 0
    for path in files:
        with contextlib.suppress(OSError):
            total += path.stat().st_size
    return total


class _Prefetcher:
    """Files read, parsed and normalised ahead of the writer, in the order given.

    The writer (this thread) spends its time in SQLCipher, which releases the GIL, so the
    preparing overlaps it on a second core. A big import prepares on a worker process: parsing
    and normalising are pure Python and would otherwise take turns with the writer for the
    GIL. A small one uses a thread, where starting a process (~0.2 s) would cost more than it
    saves. If the worker process cannot start or dies, the rest is prepared on a thread.
    """

    def __init__(self, files: Sequence[Path], times: StageTimes) -> None:
        self._files = list(files)
        self._times = times
        self._next_index = 0
        self._pending: deque[tuple[Path, Future[PreparedFile | bytes]]] = deque()
        self._channel: ChunkChannel | None = None
        self._in_process = (
            (os.cpu_count() or 1) > 1 and len(files) > 1 and _total_size(files) >= PROCESS_MIN_BYTES
        )
        self._executor: Executor = self._start_process() if self._in_process else _thread()

    def _start_process(self) -> Executor:
        try:
            context = multiprocessing.get_context("spawn")
            self._channel = ChunkChannel(context)
            return ProcessPoolExecutor(
                max_workers=1,
                mp_context=context,
                initializer=start_worker,
                initargs=(self._channel.sender,),
            )
        except (OSError, ValueError, NotImplementedError) as exc:
            self._drop_channel()
            self._in_process = False
            log.warning("no worker process for the import (%s); preparing on a thread", exc)
            return _thread()

    def _switch_to_thread(self, exc: BaseException) -> None:
        log.warning(
            "the import's worker process stopped or could not start (%s); preparing on a thread",
            exc,
        )
        self._executor.shutdown(wait=False, cancel_futures=True)
        self._drop_channel()
        self._executor, self._in_process = _thread(), False

    def _drop_channel(self) -> None:
        if self._channel is not None:
            self._channel.drop()
            self._channel = None

    def __enter__(self) -> _Prefetcher:
        try:
            self._fill()
        except BaseException:
            self.__exit__()  # no worker, nor the thread reading its channel, left behind
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        # On success nothing is pending; after an error or a cancel, unstarted work is dropped
        # and the worker stops after the file it is on, without holding up the caller.
        self._executor.shutdown(wait=not self._pending, cancel_futures=True)
        self._drop_channel()

    def _fill(self) -> None:
        while len(self._pending) < _PREFETCH and self._next_index < len(self._files):
            path = self._files[self._next_index]
            self._next_index += 1
            self._pending.append((path, self._submit(path)))

    def _submit(self, path: Path) -> Future[PreparedFile | bytes]:
        if self._in_process:
            try:
                future: Future[PreparedFile | bytes] = self._executor.submit(
                    prepare_file_pickled, path
                )
                if self._channel is not None:
                    self._channel.sender_given()  # the worker is started, with its own copy
                return future
            except (BrokenExecutor, OSError) as exc:  # OSError: spawn starts it here, or fails
                self._switch_to_thread(exc)
        return self._executor.submit(prepare_file, path)

    def next(self) -> PreparedFile:
        path, future = self._pending.popleft()
        cpu, wall = time.thread_time(), time.perf_counter()
        try:
            prepared = future.result()
        except BrokenExecutor as exc:
            # The worker process died: what it had not given back is prepared again here.
            self._switch_to_thread(exc)
            paths = [path, *(p for p, _ in self._pending)]
            self._pending = deque((p, self._submit(p)) for p in paths)
            prepared = self._pending.popleft()[1].result()
        self._times.add(STAGE_WAIT, time.thread_time() - cpu, time.perf_counter() - wall)
        if isinstance(prepared, bytes):  # from the worker process, its chunks down the channel
            cpu, wall = time.thread_time(), time.perf_counter()
            prepared = load_prepared(prepared, self._channel.take if self._channel else None)
            self._times.add(STAGE_UNPICKLE, time.thread_time() - cpu, time.perf_counter() - wall)
        # Only then: a worker found dead here drops the channel, with this file's chunks in it.
        self._fill()
        self._times.merge(prepared.stage_times)
        return prepared


def _thread() -> Executor:
    return ThreadPoolExecutor(max_workers=1, thread_name_prefix="phr-import-read")


def _import_file(
    session: Session,
    parsed: PreparedFile,
    source_name: str | None,
    progress: ProgressCallback,
    cancel: CancelToken,
    same_person: bool,
    commits: ImportCommits,
) -> None:
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
