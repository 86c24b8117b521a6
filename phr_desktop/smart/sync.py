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
from typing import Any

import orjson

from phr_desktop.smart.errors import SyncError
from phr_desktop.smart.fhir_client import FhirClient
from phr_desktop.smart.gc_pacing import fewer_gc_passes
from phr_desktop.smart.scopes import readable_types
from phr_desktop.smart.search_fetch import (
    FALLBACK_PAGE_SIZE,
    Event,
    Page,
    PageParser,
    ParsedPage,
    SearchRun,
    TypeFetcher,
)
from phr_desktop.smart.search_plan import (
    Search,
    SearchRules,
    may_search_by_category,
    types_needing_category,
)
from phr_desktop.vault.connections import ConnectionStore, StoredConnection, TypeState
from phr_desktop.vault.database import Connection, transaction
from phr_desktop.vault.store import IncomingResource, Normaliser, RecordStore, WriteCounts, now_iso

# Resources asked for per page. Most of a sync's time against a nearby server is per request
# (one long chain of next links for Observations), so pages are large; servers return fewer
# where they cap `_count`, and one that refuses it gets FALLBACK_PAGE_SIZE instead.
PAGE_SIZE = 500
WORKERS = 3
INCREMENTAL_OVERLAP = timedelta(minutes=5)
MAX_ATTACHMENT_BYTES = 20 * 1024 * 1024
ATTACHMENT_TYPES = ("DocumentReference", "DiagnosticReport")
QUEUED_EVENTS = 8  # pages parsed ahead of the storing thread: back-pressure on fast servers
MAX_RESOURCES_PER_TRANSACTION = 5000  # keeps one commit's write-ahead log a few MB
MAX_WARNINGS_PER_TYPE = 5  # a server repeating a note on every page says it once

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
    marked_missing: int = 0
    reconnect_needed: bool = False

    @property
    def failed(self) -> list[TypeOutcome]:
        return [o for o in self.outcomes if o.status in ("failed", "cancelled")]

    @property
    def warnings(self) -> list[TypeOutcome]:
        """Types fetched, with something the server said about them (outcome entries, a
        category it refused)."""
        return [o for o in self.outcomes if o.status == "ok" and o.detail]


def _attachment_urls(resource: dict[str, Any]) -> list[str]:
    if resource.get("resourceType") == "DocumentReference":
        attachments = [
            c.get("attachment") for c in resource.get("content") or [] if isinstance(c, dict)
        ]
    else:
        attachments = list(resource.get("presentedForm") or [])
    return [
        str(a["url"])
        for a in attachments
        if isinstance(a, dict) and a.get("url") and not a.get("data")
    ]


def _waiting_behind(first: Event, events: queue.Queue[Event]) -> list[Event]:
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
        self.rules = SearchRules.from_config(connection.smart_config)
        # One run's working state, set by _plan and kept up to date by the storing thread.
        self._searches: dict[str, TypeState] = {}  # per-category checkpoints, by search key
        self._runs: dict[str, list[SearchRun]] = {}  # what each type's worker is to search
        self._may_switch: dict[str, bool] = {}  # a refused plain search may go per category
        self._done_before: dict[str, bool] = {}  # some category finished before a resume
        self._notes: dict[str, list[str]] = {}  # what the server said about a type
        self._partial: set[str] = set()  # types with a category refused: nothing marked missing
        self._stored_ids: dict[str, set[str]] = {}  # per-category types: stored once a run

    # --- planning ---------------------------------------------------------------------------

    @staticmethod
    def _since(last_success_at: str | None) -> str | None:
        if not last_success_at:
            return None
        since_at = datetime.fromisoformat(last_success_at) - INCREMENTAL_OVERLAP
        return since_at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")

    def _learn_from_capabilities(self) -> bool:
        """Once per connection: the types the CapabilityStatement says need `category`.
        True when the rules changed (to be saved)."""
        if self.rules.capabilities_read:
            return False
        try:
            statement = orjson.loads(getattr(self.client.get("metadata"), "content", b""))
        except (SyncError, orjson.JSONDecodeError):
            return False  # asked again next sync; a refused search decides meanwhile
        self.rules.by_category |= types_needing_category(statement)
        self.rules.capabilities_read = True
        return True

    def _save_rules(self) -> None:
        """Remember what this server needs (call inside a transaction)."""
        config = self.rules.into_config(self.connection.smart_config)
        self.connection = replace(self.connection, smart_config=config)
        self.connections.update(self.connection.id, smart_config=config)

    def _resume(self, state: TypeState, searches: dict[str, TypeState]) -> list[SearchRun] | None:
        """The searches still to run for a type a stopped run left unfinished, from their
        checkpoints; None when there is nothing to resume (a fresh run is planned)."""
        rtype = state.resource_type
        if rtype not in self.rules.by_category:
            if not state.resume_url:
                return None
            return [
                SearchRun(Search(rtype), state.resume_url, state.fetched > 0, not state.run_full)
            ]
        this_run = [
            (search, sub)
            for search in self.rules.searches(rtype)
            if (sub := searches.get(search.key)) and sub.run_started_at == state.run_started_at
        ]
        if not any(sub.status == "running" for _search, sub in this_run):
            return None
        runs = []
        for search, sub in this_run:
            self._searches[search.key] = sub
            if sub.status == "ok":
                self._done_before[rtype] = True
            elif sub.status == "skipped":
                self._partial.add(rtype)
            else:
                url = sub.resume_url or search.first_url(
                    self.connection.patient_id or "", self.page_size, None
                )
                runs.append(SearchRun(search, url, sub.fetched > 0, not sub.run_full))
        return runs

    def _plan_fresh(
        self, rtype: str, state: TypeState | None, full: bool, started: str
    ) -> TypeState:
        patient = self.connection.patient_id or ""
        incremental = (
            not full
            and rtype != "Patient"
            and rtype not in self.rules.no_last_updated
            and state is not None
            and state.last_success_at is not None
        )
        since = self._since(state.last_success_at) if incremental and state else None
        runs: list[SearchRun] = []
        type_url: str | None = None
        for search in self.rules.searches(rtype):
            if search.category is None:
                type_url = search.first_url(patient, self.page_size, since)
                runs.append(SearchRun(search, type_url, False, since is not None))
                continue
            before = self._searches.get(search.key)
            own_since = self._since(before.last_success_at) if incremental and before else None
            url = search.first_url(patient, self.page_size, own_since)
            self._searches[search.key] = TypeState(
                search.key, "running", "", url, started, own_since is None, 0,
                before.last_success_at if before else None,
            )  # fmt: skip
            runs.append(SearchRun(search, url, False, own_since is not None))
        self._runs[rtype] = runs
        return TypeState(
            resource_type=rtype,
            status="running",
            detail="",
            resume_url=type_url,
            run_started_at=started,
            run_full=since is None,
            fetched=0,
            last_success_at=state.last_success_at if state else None,
        )

    def _plan(self, full: bool) -> dict[str, TypeState]:
        rules_changed = self._learn_from_capabilities()
        states = self.connections.type_states(self.connection.id)
        searches = self.connections.search_states(self.connection.id)
        self._searches = dict(searches)
        started = now_iso()
        plan: dict[str, TypeState] = {}
        for rtype in readable_types(self.connection.scope):
            state = states.get(rtype)
            self._may_switch[rtype] = (
                may_search_by_category(rtype) and rtype not in self.rules.by_category
            )
            if state and state.status in ("running", "failed", "cancelled"):
                resumed = self._resume(state, searches)
                if resumed is not None:
                    plan[rtype] = replace(state, status="running", detail="")
                    self._runs[rtype] = resumed
                    continue
            plan[rtype] = self._plan_fresh(rtype, state, full, started)
        with self.write_lock, transaction(self.conn):
            if rules_changed:
                self._save_rules()
            for rtype, state in plan.items():
                if state.run_full and state.fetched == 0:
                    self.connections.clear_seen(self.connection.id, rtype)
                self.connections.save_type_state(self.connection.id, state)
            for sub in self._searches.values():
                if sub.run_started_at == started:
                    self.connections.save_type_state(self.connection.id, sub)
        return plan

    # --- fetching (worker threads) ----------------------------------------------------------

    def _fetch_type(self, rtype: str, events: queue.Queue[Event], stop: threading.Event) -> None:
        fetcher = TypeFetcher(
            self.client.get, self.parse_page, self.connection.patient_id or "", self.page_size,
            events, stop,
        )  # fmt: skip
        fetcher.run(
            rtype, self._runs.get(rtype, []), self._may_switch.get(rtype, False),
            self._done_before.get(rtype, False),
        )  # fmt: skip

    # --- storing (calling thread) -------------------------------------------------------------

    def _store_page(self, state: TypeState, key: str, page: Page, report: SyncReport) -> TypeState:
        """Write one page and its checkpoint; call inside the batch's transaction."""
        rtype = page.resource_type
        items = page.items
        if rtype in self.rules.by_category:
            # One resource may be in several categories: stored, and counted, once.
            seen = self._stored_ids.setdefault(rtype, set())
            items = [i for i in items if f"{i.resource_type}/{i.resource_id}" not in seen]
            seen.update(f"{i.resource_type}/{i.resource_id}" for i in items)
        state = replace(state, fetched=state.fetched + len(items))
        if key == rtype:
            state = replace(state, resume_url=page.next_url)
        else:
            sub = self._searches[key]
            self._searches[key] = replace(
                sub, resume_url=page.next_url, fetched=sub.fetched + len(page.items)
            )
            self.connections.save_type_state(self.connection.id, self._searches[key])
        report.counts.add(
            self.store.write_resources(
                self.connection.source_id, None, items, self.normalise, self.connection.name
            )
        )
        if state.run_full:
            ids = [i.resource_id for i in items if i.resource_type == rtype]
            self.connections.mark_seen(self.connection.id, rtype, ids)
        self.connections.save_type_state(self.connection.id, state)
        for warning in page.warnings:
            self._note(rtype, warning)
        return state

    def _note(self, rtype: str, text: str) -> None:
        notes = self._notes.setdefault(rtype, [])
        if text not in notes and len(notes) < MAX_WARNINGS_PER_TYPE:
            notes.append(text)

    def _fetch_attachments(self, items: Sequence[IncomingResource], report: SyncReport) -> None:
        for item in items:
            for url in _attachment_urls(item.resource):
                raw = self.conn.execute(
                    "SELECT w.id, r.id FROM raw_resources w LEFT JOIN records r ON r.raw_id = w.id "
                    "WHERE w.source_id = ? AND w.resource_type = ? AND w.resource_id = ? "
                    "AND w.is_current = 1",
                    (self.connection.source_id, item.resource_type, item.resource_id),
                ).fetchone()
                if (
                    raw is None
                    or self.conn.execute(
                        "SELECT 1 FROM attachments WHERE raw_id = ? AND filename = ?", (raw[0], url)
                    ).fetchone()
                ):
                    continue
                try:
                    fetched = self.client.get_binary(url, MAX_ATTACHMENT_BYTES)
                except SyncError:
                    report.attachments_skipped += 1
                    continue
                if fetched is None:
                    report.attachments_skipped += 1  # over the size cap
                    continue
                data, content_type = fetched
                with self.write_lock, transaction(self.conn):
                    self.conn.execute(
                        "INSERT INTO attachments (raw_id, record_id, filename, content_type, size, "
                        "sha256, data, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                        (
                            raw[0], raw[1], url, content_type, len(data),
                            hashlib.sha256(data).hexdigest(), data, now_iso(),
                        ),
                    )  # fmt: skip
                report.attachments += 1

    def _finish_type(self, state: TypeState, report: SyncReport) -> str:
        """Close a type's run; returns what the server said about it (empty when nothing)."""
        rtype = state.resource_type
        if state.run_full and rtype not in self._partial:
            report.marked_missing += self.connections.finish_full_sync(
                self.connection.id, self.connection.source_id, rtype
            )
        elif state.run_full:  # a category is missing from this run: nothing can be called gone
            self.connections.clear_seen(self.connection.id, rtype)
        detail = "; ".join(self._notes.get(rtype, []))
        self.connections.save_type_state(
            self.connection.id,
            replace(
                state, status="ok", detail=detail, resume_url=None,
                last_success_at=state.run_started_at,
            ),
        )  # fmt: skip
        return detail

    def _set_status(self, state: TypeState, status: str, detail: str) -> None:
        self.connections.save_type_state(
            self.connection.id, replace(state, status=status, detail=detail)
        )

    def _save_search(self, key: str, **changes: Any) -> None:
        sub = replace(self._searches[key], **changes)
        self._searches[key] = sub
        self.connections.save_type_state(self.connection.id, sub)

    def _switch_to_categories(self, state: TypeState) -> TypeState:
        """The server wants `category`: remembered, and each category gets a checkpoint."""
        rtype = state.resource_type
        self.rules.by_category.add(rtype)
        self._save_rules()
        patient = self.connection.patient_id or ""
        for search in self.rules.searches(rtype):
            self._searches[search.key] = TypeState(
                search.key, "running", "", search.first_url(patient, self.page_size, None),
                state.run_started_at, True, 0, None,
            )  # fmt: skip
            self.connections.save_type_state(self.connection.id, self._searches[search.key])
        state = replace(state, resume_url=None)
        self.connections.save_type_state(self.connection.id, state)
        return state

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
        events: queue.Queue[Event] = queue.Queue(maxsize=QUEUED_EVENTS)
        stop = threading.Event()
        pending = set(plan)
        total = len(plan)
        with ThreadPoolExecutor(max_workers=self.workers, thread_name_prefix="phr-sync") as pool:
            futures = {pool.submit(self._fetch_type, rtype, events, stop): rtype for rtype in plan}
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
                                event = Event("failed", rtype, detail=str(future.exception()))
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
        event: Event,
        plan: dict[str, TypeState],
        pending: set[str],
        report: SyncReport,
        stop: threading.Event,
    ) -> None:
        """Apply one event to the vault and the plan; call inside the batch's transaction."""
        rtype = event.resource_type
        state = plan[rtype]
        key = event.key or rtype
        if event.kind == "page" and event.page is not None:
            plan[rtype] = self._store_page(state, key, event.page, report)
        elif event.kind == "restart_full" and key == rtype:
            plan[rtype] = replace(state, run_full=True, resume_url=event.url)
            self.connections.clear_seen(self.connection.id, rtype)
            self.connections.save_type_state(self.connection.id, plan[rtype])
        elif event.kind == "restart_full":
            self._save_search(key, run_full=True, resume_url=event.url)
        elif event.kind == "no_last_updated":
            self.rules.no_last_updated.add(rtype)
            self._save_rules()
        elif event.kind == "by_category":
            plan[rtype] = self._switch_to_categories(state)
        elif event.kind == "search_done" and key != rtype:
            sub = self._searches[key]
            self._save_search(key, status="ok", resume_url=None, last_success_at=sub.run_started_at)
        elif event.kind == "search_refused":
            self._save_search(key, status="skipped", detail=event.detail, resume_url=None)
            self._partial.add(rtype)
            category = Search.from_key(key).category
            self._note(rtype, f"the server refused the {category} search ({event.detail})")
        elif event.kind == "done":
            detail = self._finish_type(state, report)
            pending.discard(rtype)
            report.outcomes.append(TypeOutcome(rtype, "ok", state.fetched, detail))
        elif event.kind == "refused":
            detail = f"skipped: {event.detail}"
            self._set_status(replace(state, resume_url=None), "skipped", detail)
            pending.discard(rtype)
            report.outcomes.append(TypeOutcome(rtype, "skipped", state.fetched, detail))
        elif event.kind == "refused_all":
            # Not a scope the patient declined: the data exists and did not arrive.
            self._set_status(replace(state, resume_url=None), "failed", event.detail)
            pending.discard(rtype)
            report.outcomes.append(TypeOutcome(rtype, "failed", state.fetched, event.detail))
        elif event.kind in ("failed", "expired"):
            self._set_status(state, "failed", event.detail)
            pending.discard(rtype)
            report.outcomes.append(TypeOutcome(rtype, "failed", state.fetched, event.detail))
            if event.kind == "expired":
                report.reconnect_needed = True
                stop.set()


__all__ = [
    "FALLBACK_PAGE_SIZE",
    "PAGE_SIZE",
    "PageParser",
    "ParsedPage",
    "SyncEngine",
    "SyncReport",
    "TypeOutcome",
]
