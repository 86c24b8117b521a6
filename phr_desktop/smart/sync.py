"""Sync one SMART connection: every readable resource type, paged, concurrent, resumable.

Worker threads fetch and parse pages (a few types at a time); the calling thread stores the
pages in transactions together with each type's checkpoint (the next page's URL), so an
interrupted sync resumes where it stopped with nothing lost or stored twice. A transaction
stays open while pages keep coming, up to a size and an age (gathering.py): a commit (an
fsync and the encrypted pages) costs more than a page's rows.
"""

from __future__ import annotations

import contextlib
import queue
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from typing import Any

import orjson

from phr_desktop.smart import gathering
from phr_desktop.smart.attachment_fetch import ATTACHMENT_TYPES, fetch_attachments
from phr_desktop.smart.errors import SyncError
from phr_desktop.smart.fhir_client import FhirClient
from phr_desktop.smart.gathering import one_transaction
from phr_desktop.smart.gc_pacing import fewer_gc_passes
from phr_desktop.smart.scopes import category_limits, readable_types
from phr_desktop.smart.search_fetch import (
    FALLBACK_PAGE_SIZE,
    Event,
    Page,
    PageParser,
    ParsedPage,
    TypeFetcher,
)
from phr_desktop.smart.search_plan import Search, SearchRules, types_needing_category
from phr_desktop.smart.sync_plan import INCREMENTAL_OVERLAP, RunPlan
from phr_desktop.smart.sync_report import SyncReport, TypeOutcome
from phr_desktop.smart.url_rules import is_under_base, resolve
from phr_desktop.vault.connections import ConnectionStore, StoredConnection, TypeState
from phr_desktop.vault.database import Connection, bulk_writes, transaction
from phr_desktop.vault.store import RecordStore
from phr_desktop.vault.timestamps import now_iso
from phr_desktop.vault.write_types import Normaliser

# Resources asked for per page. Most of a sync's time against a nearby server is per request
# (one long chain of next links for Observations), so pages are large; servers return fewer
# where they cap `_count`, and one that refuses it gets FALLBACK_PAGE_SIZE instead.
PAGE_SIZE = 500
WORKERS = 3
QUEUED_EVENTS = 8  # pages parsed ahead of the storing thread: back-pressure on fast servers

ProgressReport = Callable[[int, int | None, str], None]


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
        commit_interval: float | None = None,
    ) -> None:
        self.conn = conn
        self.connection = connection
        self.client = client
        self.parse_page = parse_page
        self.normalise = normalise
        self.write_lock = write_lock
        self.page_size = page_size or PAGE_SIZE  # looked up late so a benchmark can change it
        self.workers = workers
        # Looked up late, as the page size, so a test can change it for a whole sync.
        self.commit_interval = (
            gathering.COMMIT_INTERVAL if commit_interval is None else commit_interval
        )
        self._full_runs_done: list[str] = []  # types whose full run ended in this batch
        # Full runs of a first sync: every row of their types is one they stored, so none
        # can be missing and they take no seen marks (see _plan).
        self._unmarked: set[str] = set()
        self.store = RecordStore(conn)
        self.connections = ConnectionStore(conn)
        self.rules = SearchRules.from_config(connection.smart_config)
        self.plan = RunPlan(self.rules, connection.patient_id or "", self.page_size, now_iso())

    # --- planning ---------------------------------------------------------------------------

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

    def _plan(self, full: bool) -> dict[str, TypeState]:
        rules_changed = self._learn_from_capabilities()
        states = self._confined(self.connections.type_states(self.connection.id))
        self.plan = RunPlan(
            self.rules, self.connection.patient_id or "", self.page_size, now_iso(),
            limits=category_limits(self.connection.scope),
            searches=self._confined(self.connections.search_states(self.connection.id)),
        )  # fmt: skip
        for rtype in readable_types(self.connection.scope):
            self.plan.add_type(rtype, states.get(rtype), full)
        with self.write_lock, transaction(self.conn):
            # A first sync stores what nothing can have stored before: no lookups for it,
            # and nothing its full runs could find missing.
            first_sync = self.store.filling_new_source(self.connection.source_id)
            if rules_changed:
                self._save_rules()
            for rtype, state in self.plan.types.items():
                if state.run_full and state.fetched == 0:
                    self.connections.clear_seen(self.connection.id, rtype)
                elif state.run_full and not first_sync:
                    # Resumed: if the part before was a first sync's, which took no marks,
                    # what it stored is what it received.
                    self.connections.seen_as_stored(
                        self.connection.id, self.connection.source_id, rtype
                    )
                self.connections.save_type_state(self.connection.id, state)
            for sub in self.plan.new_searches():
                self.connections.save_type_state(self.connection.id, sub)
        full_runs = {rtype for rtype, state in self.plan.types.items() if state.run_full}
        self._unmarked = full_runs if first_sync else set()
        return self.plan.types

    # --- fetching (worker threads) ----------------------------------------------------------

    def _fetch_type(self, rtype: str, events: queue.Queue[Event], stop: threading.Event) -> None:
        fetcher = TypeFetcher(
            self.client.get, self.parse_page, self.plan.patient, self.page_size, events, stop
        )
        fetcher.run(
            rtype, self.plan.runs.get(rtype, []), rtype in self.plan.may_switch,
            rtype in self.plan.done_before,
        )  # fmt: skip

    # --- storing (calling thread) -------------------------------------------------------------

    def _under_base(self, url: str | None) -> bool:
        """A checkpoint is never a URL elsewhere: the fetch refuses it (failing the type with a
        clear detail) and the next run starts that type over instead of failing there again."""
        base = self.connection.fhir_base
        return bool(url) and is_under_base(resolve(base, url or ""), base)

    def _confined(self, states: dict[str, TypeState]) -> dict[str, TypeState]:
        """Stored states without a checkpoint outside the FHIR base (saved before that rule)."""
        return {
            key: state if not state.resume_url or self._under_base(state.resume_url)
            else replace(state, resume_url=None)
            for key, state in states.items()
        }  # fmt: skip

    def _store_page(self, state: TypeState, key: str, page: Page, report: SyncReport) -> TypeState:
        """Write one page and its checkpoint; call inside the batch's transaction."""
        rtype = page.resource_type
        items = page.items
        if self.plan.per_category(rtype):
            keys = {f"{i.resource_type}/{i.resource_id}": i for i in items}
            items = [keys[k] for k in self.plan.first_time_in_run(rtype, list(keys))]
        state = replace(state, fetched=state.fetched + len(items))
        resume = page.next_url if self._under_base(page.next_url) else None
        if key == rtype:
            state = replace(state, resume_url=resume)
        else:
            sub = self.plan.searches[key]
            self._save_search(key, resume_url=resume, fetched=sub.fetched + len(page.items))
        report.counts.add(
            self.store.write_resources(
                self.connection.source_id, None, items, self.normalise, self.connection.name
            )
        )
        if state.run_full and rtype not in self._unmarked:
            ids = [i.resource_id for i in items if i.resource_type == rtype]
            self.connections.mark_seen(self.connection.id, rtype, ids)
        self.connections.save_type_state(self.connection.id, state)
        for warning in page.warnings:
            self.plan.note(rtype, warning)
        return state

    def _finish_type(self, state: TypeState, report: SyncReport) -> str:
        """Close a type's run; returns what the server said about it (empty when nothing)."""
        rtype = state.resource_type
        # A first sync's full run took no marks: every stored row of the type came with it.
        if state.run_full and rtype not in self._unmarked:
            if rtype not in self.plan.partial:
                self._full_runs_done.append(rtype)  # looked at with the batch's others
            else:  # a category is missing from this run: nothing can be called gone
                self.connections.clear_seen(self.connection.id, rtype)
        detail = "; ".join(self.plan.notes.get(rtype, []))
        self.connections.save_type_state(
            self.connection.id,
            replace(
                state, status="ok", detail=detail, resume_url=None,
                last_success_at=state.run_started_at,
            ),
        )  # fmt: skip
        return detail

    def _mark_missing(self, report: SyncReport) -> None:
        """Mark what the full runs finished in this batch no longer returned. One pass over
        the source's resources serves every type: each pass reads every raw row of the
        source, so a pass per type cost twelve times that (call inside the transaction)."""
        if self._full_runs_done:
            report.marked_missing += self.connections.finish_full_sync(
                self.connection.id, self.connection.source_id, self._full_runs_done
            )
            self._full_runs_done = []

    def _set_status(self, state: TypeState, status: str, detail: str) -> None:
        self.connections.save_type_state(
            self.connection.id, replace(state, status=status, detail=detail)
        )

    def _save_search(self, key: str, **changes: Any) -> None:
        sub = replace(self.plan.searches[key], **changes)
        self.plan.searches[key] = sub
        self.connections.save_type_state(self.connection.id, sub)

    # --- the run ------------------------------------------------------------------------------

    def run(
        self, full: bool, progress: ProgressReport, is_cancelled: Callable[[], bool]
    ) -> SyncReport:
        with fewer_gc_passes(), self._fewer_checkpoints():
            return self._run(full, progress, is_cancelled)

    @contextlib.contextmanager
    def _fewer_checkpoints(self) -> Iterator[None]:
        """The importer's `bulk_writes` for the whole run: the WAL is copied into the vault
        once at the end, not every 4 MB (each copy rewrote index pages changed again in the
        next commits; measured on the bench's 5,069 resources, storing alone: 0.41-0.44 s of
        CPU against 0.45-0.52 s). Entered and left under the write lock, which the final
        checkpoint needs (no other thread's transaction open on the connection)."""
        bulk = bulk_writes(self.conn)
        with self.write_lock:
            bulk.__enter__()
        try:
            yield
        finally:
            with self.write_lock:
                bulk.__exit__(None, None, None)

    def _run(
        self, full: bool, progress: ProgressReport, is_cancelled: Callable[[], bool]
    ) -> SyncReport:
        plan = self._plan(full)
        report = SyncReport()
        events: queue.Queue[Event] = queue.Queue(maxsize=QUEUED_EVENTS)
        stop = threading.Event()
        pending = set(plan)
        total = len(plan)

        def stopping() -> bool:
            return stop.is_set() or is_cancelled()

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
                    with_attachments: list[Page] = []
                    with self.write_lock, transaction(self.conn):
                        self._full_runs_done = []  # none left over from a rolled-back batch
                        for one in one_transaction(
                            event, events, pending, stopping, self.commit_interval
                        ):
                            self._handle(one, plan, pending, report, stop)
                            if one.page is not None and one.resource_type in ATTACHMENT_TYPES:
                                # Only these pages are kept to the commit: the others' parsed
                                # resources are let go as soon as they are stored.
                                with_attachments.append(one.page)
                            # As each page is stored, not at the commit: a patient who sees
                            # a type arrive may cancel before the next page (the callback
                            # reports; it never writes, so holding the lock is no matter).
                            fetched = plan[one.resource_type].fetched
                            done = total - len(pending)
                            progress(done, total, f"{one.resource_type}: {fetched} fetched")
                        self._mark_missing(report)
                    for page in with_attachments:  # network fetches, outside the transaction
                        fetch_attachments(
                            self.conn, self.client, self.write_lock, self.connection,
                            page.items, report,
                        )  # fmt: skip
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
            # Counted again from the first page (which a resume then takes as a fresh search).
            plan[rtype] = replace(state, run_full=True, resume_url=event.url, fetched=0)
            self.connections.clear_seen(self.connection.id, rtype)
            # Counted from here: what the pages before returned may now be missing.
            self._unmarked.discard(rtype)
            self.connections.save_type_state(self.connection.id, plan[rtype])
        elif event.kind == "restart_full":
            self._save_search(key, run_full=True, resume_url=event.url, fetched=0)
        elif event.kind == "no_last_updated":
            self.rules.no_last_updated.add(rtype)
            self._save_rules()
        elif event.kind == "by_category":
            # The server wants `category`: remembered, and each category gets a checkpoint.
            for sub in self.plan.switch_to_categories(rtype):
                self.connections.save_type_state(self.connection.id, sub)
            self._save_rules()
            self.connections.save_type_state(self.connection.id, plan[rtype])
        elif event.kind == "search_done" and key != rtype:
            sub = self.plan.searches[key]
            self._save_search(key, status="ok", resume_url=None, last_success_at=sub.run_started_at)
        elif event.kind == "search_refused":
            self._save_search(key, status="skipped", detail=event.detail, resume_url=None)
            self.plan.partial.add(rtype)
            category = Search.from_key(key).category
            self.plan.note(rtype, f"the server refused the {category} search ({event.detail})")
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
    "INCREMENTAL_OVERLAP",
    "PAGE_SIZE",
    "PageParser",
    "ParsedPage",
    "SyncEngine",
    "SyncReport",
    "TypeOutcome",
]
