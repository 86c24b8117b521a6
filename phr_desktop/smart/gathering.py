"""Which of the sync's events share a commit: the storing thread gathers pages for a moment.

A commit costs more than a page's rows (the WAL's fsync, every touched index page encrypted
and written again, a new full-text segment to merge), so small pages are not committed one
by one; but what is gathered waits, and the last commit follows the last page with nothing
to overlap it, so the gathering is short and bounded.
"""

from __future__ import annotations

import queue
import time
from collections.abc import Callable

from phr_desktop.smart.search_fetch import Event

MAX_RESOURCES_PER_TRANSACTION = 5000  # keeps one commit's write-ahead log a few MB
# How long pages wait to be committed together; progress moves at this pace.
COMMIT_INTERVAL = 0.5
# Resources after which the storing thread stops waiting for more: what is gathered is
# stored while the next pages are fetched, so the last commit, which nothing overlaps, stays
# short (two of our pages).
GATHER_RESOURCES = 1000
# The events after which a type has nothing more to store in this run.
FINAL_EVENTS = frozenset({"done", "refused", "refused_all", "failed", "expired"})


def gathered(
    first: Event,
    events: queue.Queue[Event],
    pending: set[str],
    is_cancelled: Callable[[], bool],
    interval: float,
) -> list[Event]:
    """`first` and the events already waiting behind it, up to a transaction's worth of
    resources, plus those that follow within `interval` seconds while fewer than
    GATHER_RESOURCES are gathered: what the storing thread commits at once.

    A commit costs more than a page's rows (the WAL's fsync, every touched index page
    encrypted and written again, a new full-text segment to merge), so small pages are
    gathered for a moment rather than committed one by one. The waiting stops early once
    every pending type has finished or the sync is cancelled; nothing is locked while it
    waits, and a crash meanwhile only means those pages are fetched again (their checkpoint
    is not saved yet)."""
    batch = [first]
    resources = len(first.page.items) if first.page else 0
    finished = {first.resource_type} if first.kind in FINAL_EVENTS else set()
    deadline = time.monotonic() + interval
    while resources < MAX_RESOURCES_PER_TRANSACTION and not pending <= finished:
        try:
            event = events.get_nowait()  # whatever is waiting already, at no cost
        except queue.Empty:
            left = deadline - time.monotonic()
            if left <= 0 or resources >= GATHER_RESOURCES or is_cancelled():
                break
            try:
                event = events.get(timeout=min(left, 0.2))
            except queue.Empty:
                continue
        batch.append(event)
        resources += len(event.page.items) if event.page else 0
        if event.kind in FINAL_EVENTS:
            finished.add(event.resource_type)
    return batch
