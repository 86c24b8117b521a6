"""The sync's worker side: run one resource type's searches page by page, turning what the
server answers into events for the storing thread (pages, checkpoints, strategy changes).

A search the server will not take as asked is tried again the way real servers want it:
smaller pages, without `_lastUpdated`, then once per category (US Core / Epic); only when
every way is refused is the type reported `failed` (400/422) or `refused` (403 and the like).
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from urllib.parse import parse_qsl, urlencode, urlsplit

from phr_desktop.smart.errors import ResourceRefused, SyncError, TokenExpired
from phr_desktop.smart.search_plan import (
    CATEGORIES,
    REFUSED_AS_ASKED,
    Search,
    missing_data_message,
)
from phr_desktop.vault.write_types import IncomingResource

FALLBACK_PAGE_SIZE = 100
# What a server answers for a next link it no longer knows (an expired paging session).
EXPIRED_PAGE = frozenset({400, 404, 410, 422})


@dataclass(frozen=True)
class ParsedPage:
    """A page's resources (exact JSON kept), its `next` link, and the warnings its
    OperationOutcome entries (`search.mode = "outcome"`) carried, read in one parse."""

    items: Sequence[IncomingResource]
    next_url: str | None
    warnings: Sequence[str] = ()


# Reads a page's bytes (the name is for messages); raises SyncError when it cannot.
PageParser = Callable[[bytes, str], ParsedPage]


@dataclass(frozen=True)
class Page:
    resource_type: str
    items: Sequence[IncomingResource]
    next_url: str | None
    warnings: Sequence[str] = ()


@dataclass(frozen=True)
class Event:
    """What a worker tells the storing thread. Kinds: page, restart_full, no_last_updated,
    by_category, search_done, search_refused, done, refused, refused_all, failed, expired.
    `key` names the search (a type, or `Type?category=code`)."""

    kind: str
    resource_type: str
    page: Page | None = None
    detail: str = ""
    url: str | None = None
    key: str = ""


@dataclass(frozen=True)
class SearchRun:
    """One search to run: where it starts (first page or a checkpoint) and how."""

    search: Search
    url: str
    from_checkpoint: bool  # resuming a server's next link: no fallbacks apply
    incremental: bool  # the first page asks `_lastUpdated`: a refusal may be about that


def emit(events: queue.Queue[Event], event: Event, stop: threading.Event) -> None:
    """Hand an event to the storing thread; give up quietly once the run is stopping."""
    while not stop.is_set():
        try:
            events.put(event, timeout=0.2)
            return
        except queue.Full:
            continue


def with_smaller_pages(url: str) -> str | None:
    """The same search asking for FALLBACK_PAGE_SIZE a page; None if it asks for no more."""
    parts = urlsplit(url)
    query = parse_qsl(parts.query, keep_blank_values=True)
    asked = next((value for key, value in query if key == "_count"), "")
    if not asked.isdigit() or int(asked) <= FALLBACK_PAGE_SIZE:
        return None
    query = [(k, str(FALLBACK_PAGE_SIZE) if k == "_count" else v) for k, v in query]
    return parts._replace(query=urlencode(query)).geturl()


class TypeFetcher:
    """Runs one type's searches in a worker thread. `get` is the FHIR client's GET."""

    def __init__(
        self,
        get: Callable[[str], object],
        parse_page: PageParser,
        patient: str,
        page_size: int,
        events: queue.Queue[Event],
        stop: threading.Event,
    ) -> None:
        self.get = get
        self.parse_page = parse_page
        self.patient = patient
        self.page_size = page_size
        self.events = events
        self.stop = stop

    def _emit(self, event: Event) -> None:
        emit(self.events, event, self.stop)

    def run(
        self, resource_type: str, runs: list[SearchRun], may_switch: bool, done_before: bool
    ) -> None:
        """Every search in `runs`, in order. `may_switch`: a refused plain search may be tried
        per category; `done_before`: some of the type's searches already finished this run."""
        refusals: list[str] = []
        succeeded = done_before
        pending = list(runs)
        try:
            while pending and not self.stop.is_set():
                run = pending.pop(0)
                refused = self._run_search(run)
                if refused is None:
                    succeeded = True
                    continue
                as_asked = refused.status in REFUSED_AS_ASKED
                if as_asked and may_switch and run.search.category is None:
                    # A server that needs `category` (US Core, Epic): ask once per category.
                    may_switch = False
                    refusals.append(str(refused))
                    self._emit(Event("by_category", resource_type))
                    pending = [
                        SearchRun(s, s.first_url(self.patient, self.page_size, None), False, False)
                        for s in (Search(resource_type, c) for c in CATEGORIES[resource_type])
                    ]
                    continue
                if as_asked and run.search.category is not None:
                    refusals.append(str(refused))  # the same reason for every category: once
                    self._emit(
                        Event(
                            "search_refused", resource_type, detail=str(refused),
                            key=run.search.key,
                        )
                    )  # fmt: skip
                    continue
                if as_asked:
                    refusals.append(str(refused))
                    break
                self._emit(Event("refused", resource_type, detail=str(refused)))
                return
            if self.stop.is_set():
                return
            if succeeded:
                self._emit(Event("done", resource_type))
            else:
                message = missing_data_message(resource_type, refusals)
                self._emit(Event("refused_all", resource_type, detail=message))
        except TokenExpired as exc:
            self._emit(Event("expired", resource_type, detail=str(exc)))
        except SyncError as exc:
            self._emit(Event("failed", resource_type, detail=str(exc)))

    def _run_search(self, run: SearchRun) -> ResourceRefused | None:
        """Follow one search's pages to the end; the refusal if the server would not take it."""
        search = run.search
        rtype = search.resource_type
        url: str | None = run.url
        first_page = not run.from_checkpoint  # our own search, not a server's next link
        first_incremental = first_page and run.incremental
        retried_without_since = False
        started_over = False
        page_size = self.page_size
        while url and not self.stop.is_set():
            try:
                response = self.get(url)
            except ResourceRefused as refused:
                if not first_page and not started_over and refused.status in EXPIRED_PAGE:
                    # Next links may belong to a server session that expires (Epic: "Session
                    # ID for cached search results has expired"), and a resumed sync follows
                    # a stored one: start the search over, in full (stored again unchanged).
                    url = search.first_url(self.patient, page_size, None)
                    self._emit(Event("restart_full", rtype, url=url, key=search.key))
                    first_page, first_incremental, started_over = True, False, True
                    continue
                smaller = with_smaller_pages(url) if first_page else None
                if refused.status == 400 and smaller:
                    # A server may refuse a _count above its maximum instead of capping it.
                    url, page_size = smaller, FALLBACK_PAGE_SIZE
                    continue
                if first_incremental and refused.status in REFUSED_AS_ASKED:
                    # Perhaps the server cannot filter by _lastUpdated: ask for everything.
                    url = search.first_url(self.patient, page_size, None)
                    self._emit(Event("restart_full", rtype, url=url, key=search.key))
                    first_incremental = False
                    retried_without_since = True
                    continue
                return refused
            if retried_without_since:
                # It was _lastUpdated: remembered, so later syncs of the type ask in full.
                self._emit(Event("no_last_updated", rtype, key=search.key))
                retried_without_since = False
            first_page = first_incremental = False
            content = getattr(response, "content", b"")
            # Parsed here, once, so the storing thread only writes.
            parsed = self.parse_page(content, f"{rtype} page")
            items = [
                i for i in parsed.items if i.resource_type not in ("OperationOutcome", "Bundle")
            ]
            page = Page(rtype, items, parsed.next_url, tuple(parsed.warnings))
            self._emit(Event("page", rtype, page, key=search.key))
            url = parsed.next_url
        if not self.stop.is_set():
            self._emit(Event("search_done", rtype, key=search.key))
        return None
