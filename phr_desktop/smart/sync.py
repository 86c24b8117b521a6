"""Sync one SMART connection: every readable resource type, paged, concurrent, resumable.

Worker threads fetch and parse pages (a few types at a time); the calling thread stores the
pages in transactions together with each type's checkpoint (the next page's URL), so an
interrupted sync resumes where it stopped with nothing lost or stored twice. Pages that are
already waiting share one transaction: a commit (an fsync and the encrypted pages) costs more
than a page's rows.
"""

from __future__ import annotations

import hashlib
import queue
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qsl, urlencode, urlsplit

from phr_desktop.smart.attachments import attachment_links, fetchable
from phr_desktop.smart.errors import ResourceRefused, SyncError, TokenExpired
from phr_desktop.smart.fhir_client import FhirClient
from phr_desktop.smart.gc_pacing import fewer_gc_passes
from phr_desktop.smart.scopes import readable_types
from phr_desktop.smart.url_rules import is_under_base, resolve
from phr_desktop.vault.connections import ConnectionStore, StoredConnection, TypeState
from phr_desktop.vault.database import Connection, transaction
from phr_desktop.vault.store import IncomingResource, Normaliser, RecordStore, WriteCounts, now_iso

# Resources asked for per page. Most of a sync's time against a nearby server is per request
# (one long chain of next links for Observations), so pages are large; servers return fewer
# where they cap `_count`, and one that refuses it gets FALLBACK_PAGE_SIZE instead.
PAGE_SIZE = 500
FALLBACK_PAGE_SIZE = 100
WORKERS = 3
INCREMENTAL_OVERLAP = timedelta(minutes=5)
MAX_ATTACHMENT_BYTES = 20 * 1024 * 1024
ATTACHMENT_TYPES = ("DocumentReference", "DiagnosticReport")
QUEUED_EVENTS = 8  # pages parsed ahead of the storing thread: back-pressure on fast servers
MAX_RESOURCES_PER_TRANSACTION = 5000  # keeps one commit's write-ahead log a few MB

ProgressReport = Callable[[int, int | None, str], None]


@dataclass
class TypeOutcome:
    resource_type: str
    status: str  # ok, skipped, failed, cancelled
    fetched: int = 0
    detail: str = ""


@dataclass
class SyncReport:
    outcomes: list[TypeOutcome] = field(default_factory=list)
    counts: WriteCounts = field(default_factory=WriteCounts)
    attachments: int = 0
    attachments_skipped: int = 0
    attachments_external: int = 0  # outside the FHIR base: not fetched, shown as links
    marked_missing: int = 0
    reconnect_needed: bool = False

    @property
    def failed(self) -> list[TypeOutcome]:
        return [o for o in self.outcomes if o.status in ("failed", "cancelled")]


@dataclass(frozen=True)
class ParsedPage:
    """A page's resources (exact JSON kept) and its `next` link, read in one parse."""

    items: Sequence[IncomingResource]
    next_url: str | None


# Reads a page's bytes (the name is for messages); raises SyncError when it cannot.
PageParser = Callable[[bytes, str], ParsedPage]


@dataclass(frozen=True)
class _Page:
    resource_type: str
    items: Sequence[IncomingResource]
    next_url: str | None


@dataclass(frozen=True)
class _Event:
    kind: str  # page, done, refused, failed, restart_full
    resource_type: str
    page: _Page | None = None
    detail: str = ""
    url: str | None = None


def _emit(events: queue.Queue[_Event], event: _Event, stop: threading.Event) -> None:
    """Hand an event to the storing thread; give up quietly once the run is stopping."""
    while not stop.is_set():
        try:
            events.put(event, timeout=0.2)
            return
        except queue.Full:
            continue


def _with_smaller_pages(url: str) -> str | None:
    """The same search asking for FALLBACK_PAGE_SIZE a page; None if it asks for no more."""
    parts = urlsplit(url)
    query = parse_qsl(parts.query, keep_blank_values=True)
    asked = next((value for key, value in query if key == "_count"), "")
    if not asked.isdigit() or int(asked) <= FALLBACK_PAGE_SIZE:
        return None
    query = [(k, str(FALLBACK_PAGE_SIZE) if k == "_count" else v) for k, v in query]
    return parts._replace(query=urlencode(query)).geturl()


def _waiting_behind(first: _Event, events: queue.Queue[_Event]) -> list[_Event]:
    """`first` and the events already queued behind it, in order, up to a transaction's worth
    of resources: what the storing thread can commit at once without waiting for anything."""
    batch = [first]
    resources = len(first.page.items) if first.page else 0
    while resources < MAX_RESOURCES_PER_TRANSACTION:
        try:
            event = events.get_nowait()
        except queue.Empty:
            break
        batch.append(event)
        resources += len(event.page.items) if event.page else 0
    return batch


class SyncEngine:
    def __init__(
        self,
        conn: Connection,
        connection: StoredConnection,
        client: FhirClient,
        parse_page: PageParser,
        normalise: Normaliser,
        write_lock: threading.Lock,
        page_size: int | None = None,
        workers: int = WORKERS,
    ) -> None:
        self.conn = conn
        self.connection = connection
        self.client = client
        self.parse_page = parse_page
        self.normalise = normalise
        self.write_lock = write_lock
        self.page_size = page_size or PAGE_SIZE  # looked up late so a benchmark can change it
        self.workers = workers
        self.store = RecordStore(conn)
        self.connections = ConnectionStore(conn)

    # --- planning ---------------------------------------------------------------------------

    def _first_url(self, resource_type: str, since: str | None, page_size: int = 0) -> str:
        patient = self.connection.patient_id or ""
        if resource_type == "Patient":
            return f"Patient/{patient}"
        params = {"patient": patient, "_count": str(page_size or self.page_size)}
        if since:
            params["_lastUpdated"] = f"gt{since}"
        return f"{resource_type}?{urlencode(params)}"

    def _plan(self, full: bool) -> dict[str, TypeState]:
        states = self.connections.type_states(self.connection.id)
        started = now_iso()
        plan: dict[str, TypeState] = {}
        for rtype in readable_types(self.connection.scope):
            state = states.get(rtype)
            if (
                state
                and state.status in ("running", "failed", "cancelled")
                and self._under_base(state.resume_url)
            ):
                plan[rtype] = replace(state, status="running", detail="")  # resume where it stopped
                continue
            incremental = not full and state is not None and state.last_success_at is not None
            since = None
            if incremental and rtype != "Patient" and state and state.last_success_at:
                since_at = datetime.fromisoformat(state.last_success_at) - INCREMENTAL_OVERLAP
                since = since_at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
            plan[rtype] = TypeState(
                resource_type=rtype,
                status="running",
                detail="",
                resume_url=self._first_url(rtype, since),
                run_started_at=started,
                run_full=since is None,
                fetched=0,
                last_success_at=state.last_success_at if state else None,
            )
        with self.write_lock, transaction(self.conn):
            for rtype, state in plan.items():
                if state.run_full and state.fetched == 0:
                    self.connections.clear_seen(self.connection.id, rtype)
                self.connections.save_type_state(self.connection.id, state)
        return plan

    # --- fetching (worker threads) ----------------------------------------------------------

    def _fetch_type(
        self, state: TypeState, events: queue.Queue[_Event], stop: threading.Event
    ) -> None:
        url = state.resume_url
        first_page = state.fetched == 0  # our own search, not a server's next link
        first_incremental = first_page and not state.run_full
        page_size = self.page_size
        try:
            while url and not stop.is_set():
                try:
                    response = self.client.get(url)
                except ResourceRefused as refused:
                    smaller = _with_smaller_pages(url) if first_page else None
                    if refused.status == 400 and smaller:
                        # A server may refuse a _count above its maximum instead of capping it.
                        url, page_size = smaller, FALLBACK_PAGE_SIZE
                        continue
                    if first_incremental and refused.status == 400:
                        # The server cannot filter by _lastUpdated: fall back to a full sync.
                        url = self._first_url(state.resource_type, None, page_size)
                        _emit(events, _Event("restart_full", state.resource_type, url=url), stop)
                        first_incremental = False
                        continue
                    _emit(events, _Event("refused", state.resource_type, detail=str(refused)), stop)
                    return
                first_page = first_incremental = False
                # Parsed here, once, so the storing thread only writes.
                parsed = self.parse_page(response.content, f"{state.resource_type} page")
                items = [
                    item
                    for item in parsed.items
                    if item.resource_type not in ("OperationOutcome", "Bundle")
                ]
                page = _Page(state.resource_type, items, parsed.next_url)
                _emit(events, _Event("page", state.resource_type, page), stop)
                url = parsed.next_url
            _emit(events, _Event("done", state.resource_type), stop)
        except TokenExpired as exc:
            _emit(events, _Event("expired", state.resource_type, detail=str(exc)), stop)
        except SyncError as exc:
            _emit(events, _Event("failed", state.resource_type, detail=str(exc)), stop)

    # --- storing (calling thread) -------------------------------------------------------------

    def _under_base(self, url: str | None) -> bool:
        """A checkpoint is never a URL elsewhere: the fetch refuses it (failing the type with a
        clear detail) and the next run starts that type over instead of failing there again."""
        base = self.connection.fhir_base
        return bool(url) and is_under_base(resolve(base, url or ""), base)

    def _store_page(self, state: TypeState, page: _Page, report: SyncReport) -> TypeState:
        """Write one page and its checkpoint; call inside the batch's transaction."""
        items = page.items
        resume = page.next_url if self._under_base(page.next_url) else None
        state = replace(state, resume_url=resume, fetched=state.fetched + len(items))
        report.counts.add(
            self.store.write_resources(
                self.connection.source_id, None, items, self.normalise, self.connection.name
            )
        )
        if state.run_full:
            self.connections.mark_seen(
                self.connection.id, page.resource_type, [i.resource_id for i in items]
            )
        self.connections.save_type_state(self.connection.id, state)
        return state

    def _fetch_attachments(self, items: Sequence[IncomingResource], report: SyncReport) -> None:
        base = self.connection.fhir_base
        for item in items:
            for link in attachment_links(item.resource):
                if not fetchable(link, base):
                    # No request leaves the machine for it: the Files tab shows it as a link.
                    report.attachments_external += 1
                    continue
                raw = self.conn.execute(
                    "SELECT w.id, r.id FROM raw_resources w LEFT JOIN records r ON r.raw_id = w.id "
                    "WHERE w.source_id = ? AND w.resource_type = ? AND w.resource_id = ? "
                    "AND w.is_current = 1",
                    (self.connection.source_id, item.resource_type, item.resource_id),
                ).fetchone()
                if (
                    raw is None
                    or self.conn.execute(
                        "SELECT 1 FROM attachments WHERE raw_id = ? AND filename = ?",
                        (raw[0], link.url),
                    ).fetchone()
                ):
                    continue
                try:
                    fetched = self.client.get_binary(
                        link.url, MAX_ATTACHMENT_BYTES, link.content_type
                    )
                except SyncError:
                    report.attachments_skipped += 1
                    continue
                if fetched is None:
                    report.attachments_skipped += 1  # over the size cap, stopped while reading
                    continue
                data, content_type = fetched
                with self.write_lock, transaction(self.conn):
                    self.conn.execute(
                        "INSERT INTO attachments (raw_id, record_id, filename, content_type, size, "
                        "sha256, data, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                        (
                            raw[0], raw[1], link.url, content_type, len(data),
                            hashlib.sha256(data).hexdigest(), data, now_iso(),
                        ),
                    )  # fmt: skip
                report.attachments += 1

    def _finish_type(self, state: TypeState, report: SyncReport) -> None:
        if state.run_full:
            report.marked_missing += self.connections.finish_full_sync(
                self.connection.id, self.connection.source_id, state.resource_type
            )
        self.connections.save_type_state(
            self.connection.id,
            replace(state, status="ok", resume_url=None, last_success_at=state.run_started_at),
        )

    def _set_status(self, state: TypeState, status: str, detail: str) -> None:
        self.connections.save_type_state(
            self.connection.id, replace(state, status=status, detail=detail)
        )

    # --- the run ------------------------------------------------------------------------------

    def run(
        self, full: bool, progress: ProgressReport, is_cancelled: Callable[[], bool]
    ) -> SyncReport:
        with fewer_gc_passes():
            return self._run(full, progress, is_cancelled)

    def _run(
        self, full: bool, progress: ProgressReport, is_cancelled: Callable[[], bool]
    ) -> SyncReport:
        plan = self._plan(full)
        report = SyncReport()
        events: queue.Queue[_Event] = queue.Queue(maxsize=QUEUED_EVENTS)
        stop = threading.Event()
        pending = set(plan)
        total = len(plan)
        with ThreadPoolExecutor(max_workers=self.workers, thread_name_prefix="phr-sync") as pool:
            futures = {
                pool.submit(self._fetch_type, state, events, stop): rtype
                for rtype, state in plan.items()
            }
            try:
                while pending and not stop.is_set():
                    if is_cancelled():
                        stop.set()
                        break
                    try:
                        event = events.get(timeout=0.2)
                    except queue.Empty:
                        for future, rtype in futures.items():  # a worker died of a bug
                            if future.done() and future.exception() and rtype in pending:
                                event = _Event("failed", rtype, detail=str(future.exception()))
                                break
                        else:
                            continue
                    batch = _waiting_behind(event, events)
                    with self.write_lock, transaction(self.conn):
                        for one in batch:
                            self._handle(one, plan, pending, report, stop)
                    done = total - len(pending)
                    for one in batch:
                        if one.page is not None and one.resource_type in ATTACHMENT_TYPES:
                            # Network fetches, outside the transaction.
                            self._fetch_attachments(one.page.items, report)
                        fetched = plan[one.resource_type].fetched
                        progress(done, total, f"{one.resource_type}: {fetched} fetched")
            finally:
                stop.set()  # workers drop what they have and end
        if pending:
            with self.write_lock, transaction(self.conn):
                for rtype in sorted(pending):
                    cancelled = "cancelled; the next sync goes on from here"
                    self._set_status(plan[rtype], "cancelled", cancelled)
                    report.outcomes.append(TypeOutcome(rtype, "cancelled", plan[rtype].fetched))
        report.outcomes.sort(key=lambda o: list(plan).index(o.resource_type))
        return report

    def _handle(
        self,
        event: _Event,
        plan: dict[str, TypeState],
        pending: set[str],
        report: SyncReport,
        stop: threading.Event,
    ) -> None:
        """Apply one event to the vault and the plan; call inside the batch's transaction."""
        rtype = event.resource_type
        state = plan[rtype]
        if event.kind == "page" and event.page is not None:
            plan[rtype] = self._store_page(state, event.page, report)
        elif event.kind == "restart_full":
            plan[rtype] = replace(state, run_full=True, resume_url=event.url)
            self.connections.clear_seen(self.connection.id, rtype)
            self.connections.save_type_state(self.connection.id, plan[rtype])
        elif event.kind == "done":
            self._finish_type(state, report)
            pending.discard(rtype)
            report.outcomes.append(TypeOutcome(rtype, "ok", state.fetched))
        elif event.kind == "refused":
            detail = f"skipped: {event.detail}"
            self._set_status(replace(state, resume_url=None), "skipped", detail)
            pending.discard(rtype)
            report.outcomes.append(TypeOutcome(rtype, "skipped", state.fetched, detail))
        elif event.kind in ("failed", "expired"):
            self._set_status(state, "failed", event.detail)
            pending.discard(rtype)
            report.outcomes.append(TypeOutcome(rtype, "failed", state.fetched, event.detail))
            if event.kind == "expired":
                report.reconnect_needed = True
                stop.set()
