"""One sync run's plan: for each type, the searches to run (fresh, or resumed from the
checkpoints a stopped run left), and the run's working state the storing thread keeps current.

A type searched per category has a checkpoint per category: a sync_state row keyed
`Type?category=code` beside the type's own row, which carries the run as a whole.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta

from phr_desktop.smart.search_fetch import SearchRun
from phr_desktop.smart.search_plan import Search, SearchRules, may_search_by_category
from phr_desktop.vault.connections import TypeState

INCREMENTAL_OVERLAP = timedelta(minutes=5)
MAX_NOTES_PER_TYPE = 5  # a server repeating a note on every page says it once


def since_of(last_success_at: str | None) -> str | None:
    """The `_lastUpdated` lower bound after a success at `last_success_at` (with overlap)."""
    if not last_success_at:
        return None
    since_at = datetime.fromisoformat(last_success_at) - INCREMENTAL_OVERLAP
    return since_at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass
class RunPlan:
    rules: SearchRules
    patient: str
    page_size: int
    started: str
    limits: dict[str, tuple[str, ...]] = field(default_factory=dict)  # granted categories only
    types: dict[str, TypeState] = field(default_factory=dict)  # each type's own row
    searches: dict[str, TypeState] = field(default_factory=dict)  # per-category rows, by key
    runs: dict[str, list[SearchRun]] = field(default_factory=dict)  # for each type's worker
    may_switch: set[str] = field(default_factory=set)  # refused plain search: try categories
    done_before: set[str] = field(default_factory=set)  # a category finished before a resume
    partial: set[str] = field(default_factory=set)  # a category refused: nothing called gone
    notes: dict[str, list[str]] = field(default_factory=dict)  # what the server said
    stored_ids: dict[str, set[str]] = field(default_factory=dict)  # per-category types

    def per_category(self, rtype: str) -> bool:
        return rtype in self.rules.by_category or rtype in self.limits

    def searches_for(self, rtype: str) -> list[Search]:
        """The type's searches: only the granted categories when the scope limits them."""
        if rtype in self.limits:
            return [Search(rtype, category) for category in self.limits[rtype]]
        return self.rules.searches(rtype)

    def add_type(self, rtype: str, state: TypeState | None, full: bool) -> None:
        """Plan one type: resume what a stopped run left, else a fresh (full or
        incremental) run."""
        if may_search_by_category(rtype) and not self.per_category(rtype):
            self.may_switch.add(rtype)
        if state and state.status in ("running", "failed", "cancelled"):
            resumed = self._resume(state)
            if resumed is not None:
                self.types[rtype] = replace(state, status="running", detail="")
                self.runs[rtype] = resumed
                return
        self.types[rtype] = self._fresh(rtype, state, full)

    def _resume(self, state: TypeState) -> list[SearchRun] | None:
        rtype = state.resource_type
        if not self.per_category(rtype):
            if not state.resume_url:
                return None
            return [
                SearchRun(Search(rtype), state.resume_url, state.fetched > 0, not state.run_full)
            ]
        this_run = [
            (search, sub)
            for search in self.searches_for(rtype)
            if (sub := self.searches.get(search.key)) and sub.run_started_at == state.run_started_at
        ]
        if not any(sub.status == "running" for _search, sub in this_run):
            return None
        runs = []
        for search, sub in this_run:
            if sub.status == "ok":
                self.done_before.add(rtype)
            elif sub.status == "skipped":
                self.partial.add(rtype)
            else:
                url = sub.resume_url or search.first_url(self.patient, self.page_size, None)
                runs.append(SearchRun(search, url, sub.fetched > 0, not sub.run_full))
        return runs

    def _fresh(self, rtype: str, state: TypeState | None, full: bool) -> TypeState:
        incremental = (
            not full
            and rtype != "Patient"
            and rtype not in self.rules.no_last_updated
            and state is not None
            and state.last_success_at is not None
        )
        since = since_of(state.last_success_at) if incremental and state else None
        runs: list[SearchRun] = []
        type_url: str | None = None
        for search in self.searches_for(rtype):
            if search.category is None:
                type_url = search.first_url(self.patient, self.page_size, since)
                runs.append(SearchRun(search, type_url, False, since is not None))
                continue
            # Each category asks for its own changes since it last finished.
            before = self.searches.get(search.key)
            own_since = since_of(before.last_success_at) if incremental and before else None
            url = search.first_url(self.patient, self.page_size, own_since)
            self.searches[search.key] = TypeState(
                search.key, "running", "", url, self.started, own_since is None, 0,
                before.last_success_at if before else None,
            )  # fmt: skip
            runs.append(SearchRun(search, url, False, own_since is not None))
        self.runs[rtype] = runs
        return TypeState(
            resource_type=rtype,
            status="running",
            detail="",
            resume_url=type_url,
            run_started_at=self.started,
            run_full=since is None,
            fetched=0,
            last_success_at=state.last_success_at if state else None,
        )

    def new_searches(self) -> list[TypeState]:
        """The per-category rows this run started (to be saved with the plan)."""
        return [s for s in self.searches.values() if s.run_started_at == self.started]

    def switch_to_categories(self, rtype: str) -> list[TypeState]:
        """The server wants `category` for this type: remembered in the rules, and each
        category gets a checkpoint (a full search; returned to be saved)."""
        self.rules.by_category.add(rtype)
        run_started_at = self.types[rtype].run_started_at
        created = []
        for search in self.rules.searches(rtype):
            url = search.first_url(self.patient, self.page_size, None)
            sub = TypeState(search.key, "running", "", url, run_started_at, True, 0, None)
            self.searches[search.key] = sub
            created.append(sub)
        self.types[rtype] = replace(self.types[rtype], resume_url=None)
        return created

    def note(self, rtype: str, text: str) -> None:
        notes = self.notes.setdefault(rtype, [])
        if text not in notes and len(notes) < MAX_NOTES_PER_TYPE:
            notes.append(text)

    def first_time_in_run(self, rtype: str, items: list[str]) -> list[str]:
        """Of `items` ("Type/id"), those not yet stored this run: a resource in several
        categories is stored, and counted, once."""
        seen = self.stored_ids.setdefault(rtype, set())
        fresh = [i for i in dict.fromkeys(items) if i not in seen]
        seen.update(fresh)
        return fresh
