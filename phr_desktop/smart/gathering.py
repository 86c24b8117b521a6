"""Which of the sync's events share a commit: the storing thread keeps one transaction open
while pages keep arriving, and commits it by size, by age, or when nothing comes.

A commit costs more than a page's rows (the WAL's fsync, every touched index page encrypted
and written again, a new full-text segment to merge later), and a page stored into an open
transaction costs less than one stored after a commit (its index pages are still dirty).
Measured on the bench's 5,069 resources (storing alone, best of 5): a commit per ~250
resources 0.53-0.62 s of CPU, one per ~1,000 0.37-0.55 s, one for everything 0.37-0.49 s.
Each page is stored as it arrives, so storing overlaps fetching and the last commit, which
nothing overlaps, holds only what came since the one before.
"""

from __future__ import annotations

import queue
import time
from collections.abc import Callable, Iterator

from phr_desktop.smart.search_fetch import Event

# Keeps one commit's write-ahead log some tens of MB.
MAX_RESOURCES_PER_TRANSACTION = 10_000
# A transaction older than this is committed with its next page: an interrupted sync loses
# at most this much fetching (the pages are fetched again from the last committed
# checkpoint), and progress is reported at this pace.
COMMIT_INTERVAL = 1.5
# Nothing arrives for this long: commit, rather than hold the write lock while waiting
# (a note saved meanwhile, a token renewed by a fetch thread, wait for it).
IDLE_COMMIT = 0.25
# The events after which a type has nothing more to store in this run.
FINAL_EVENTS = frozenset({"done", "refused", "refused_all", "failed", "expired"})


def one_transaction(
    first: Event,
    events: queue.Queue[Event],
    pending: set[str],
    stopping: Callable[[], bool],
    interval: float,
) -> Iterator[Event]:
    """`first`, then the events that follow while the transaction stays open: each is
    yielded to be stored before the next is waited for, so the caller stores pages as they
    come. The transaction ends (the iterator stops, and the caller commits) once it holds
    MAX_RESOURCES_PER_TRANSACTION resources or is `interval` seconds old, when no event
    comes within IDLE_COMMIT, when every pending type has finished (`pending` is the
    caller's set, updated as it stores), or when the run is `stopping` (cancelled)."""
    deadline = time.monotonic() + interval
    resources = 0
    event = first
    while True:
        yield event
        resources += len(event.page.items) if event.page else 0
        if resources >= MAX_RESOURCES_PER_TRANSACTION or not pending or stopping():
            return
        left = deadline - time.monotonic()
        if left <= 0:
            return
        try:
            event = events.get(timeout=min(left, IDLE_COMMIT))
        except queue.Empty:
            return
