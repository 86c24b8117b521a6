"""Python's cyclic garbage collector paced for bulk work that keeps many new objects alive."""

from __future__ import annotations

import contextlib
import gc
import threading
from collections.abc import Iterator

FIRST_THRESHOLD = 50_000  # allocations between young-generation collections; Python's is 700

_lock = threading.Lock()
_runs = 0
_saved = gc.get_threshold()


@contextlib.contextmanager
def fewer_gc_passes() -> Iterator[None]:
    """Collect the young generation less often inside this block.

    A sync parses hundreds of thousands of dicts and lists that stay alive until they are
    stored, and every default collection walks the newest of them again. Cycles are still
    collected; the thresholds in force before come back when the last overlapping block ends.
    """
    global _runs, _saved
    with _lock:
        if _runs == 0:
            _saved = gc.get_threshold()
            gc.set_threshold(max(FIRST_THRESHOLD, _saved[0]), *_saved[1:])
        _runs += 1
    try:
        yield
    finally:
        with _lock:
            _runs -= 1
            if _runs == 0:
                gc.set_threshold(*_saved)
