"""Where a phr-desktop sync spends its CPU time, by thread and by part, and what an import of
the same resources costs: `sync_bench.py --cpu-parts`.

cProfile sees only the storing thread and inflates pure-Python code several times over, so
this counts each thread's own CPU time (`time.thread_time`) around a few functions instead:
the fetch threads (HTTP and parsing pages), and the storing thread's normalising, building
record rows, SQL and commits. The wrappers cost a few microseconds per resource, so these
figures come from a sync of their own, never from the measured runs.

The import comparison answers "does the sync do more per resource than the importer?" on the
same machine in the same minutes: the seed's resources of the synced types, written as one
Bundle and imported into a new profile (one file: prepared on a thread, in this process).
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections import defaultdict
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import orjson

# Parts in the order printed; "other" is what the process spent outside them (planning, the
# person check, checkpoints, progress, waiting for the GIL outside a wrapped call).
FETCH = "fetch threads (HTTP, parsing)"
PARSE = "  of which parsing pages"
NORMALISE = "storing: normalising into records"
ROWS = "storing: building record rows"
SQL = "storing: SQL (raw resources, records, search index)"
COMMIT = "storing: commits (encrypting pages, fsync)"
OTHER = "other (plan, person check, seen/missing marks, checkpoints)"
ORDER = (FETCH, PARSE, NORMALISE, ROWS, SQL, COMMIT, OTHER)


class _Accounts:
    """Thread CPU seconds per part, added up across threads."""

    def __init__(self) -> None:
        self.seconds: defaultdict[str, float] = defaultdict(float)
        self._lock = threading.Lock()

    def timed(self, part: str, func: Callable[..., Any]) -> Callable[..., Any]:
        def counted(*args: Any, **kwargs: Any) -> Any:
            started = time.thread_time()
            try:
                return func(*args, **kwargs)
            finally:
                spent = time.thread_time() - started
                with self._lock:
                    self.seconds[part] += spent

        return counted


@contextlib.contextmanager
def counting_cpu_parts() -> Iterator[dict[str, float]]:
    """While inside, the sync's parts are counted into the dict yielded (thread CPU
    seconds); `finish_parts` turns it into the printed breakdown."""
    from phr_desktop.services import connections
    from phr_desktop.smart import search_fetch, sync
    from phr_desktop.vault import store

    accounts = _Accounts()
    patched: list[tuple[Any, str, Any]] = []

    def patch(owner: Any, name: str, part: str) -> None:
        original = getattr(owner, name)
        patched.append((owner, name, original))
        setattr(owner, name, accounts.timed(part, original))

    patch(search_fetch.TypeFetcher, "run", FETCH)
    patch(connections, "parse_page", PARSE)
    patch(connections, "normalise_resource", NORMALISE)
    patch(store, "record_data", ROWS)
    patch(store.RecordStore, "write_resources", "write_resources")
    original_transaction = sync.transaction

    @contextlib.contextmanager
    def timed_commit(conn: Any) -> Iterator[None]:
        with original_transaction(conn):
            yield
            started = time.thread_time()  # what follows the body is the COMMIT
        with accounts._lock:
            accounts.seconds[COMMIT] += time.thread_time() - started

    patched.append((sync, "transaction", original_transaction))
    sync.transaction = timed_commit
    try:
        yield accounts.seconds
    finally:
        for owner, name, original in reversed(patched):
            setattr(owner, name, original)


def finish_parts(seconds: dict[str, float], process_cpu: float) -> dict[str, float]:
    """The breakdown in ORDER: SQL is write_resources less the normalising and rows inside
    it, and OTHER the process's CPU less every part counted."""
    parts = {part: seconds.get(part, 0.0) for part in ORDER if part not in (SQL, OTHER)}
    parts[SQL] = max(seconds.get("write_resources", 0.0) - parts[NORMALISE] - parts[ROWS], 0.0)
    counted = sum(v for k, v in parts.items() if k != PARSE)  # parsing is inside FETCH
    parts[OTHER] = max(process_cpu - counted, 0.0)
    return {part: round(parts[part], 4) for part in ORDER}


def import_same_resources(workdir: Path, seed_path: Path, types: tuple[str, ...]) -> dict[str, Any]:
    """Import the seed's resources of `types` (one Bundle file) into a new profile; the
    import's wall and CPU time and how many resources it stored."""
    from phr_desktop.services.profiles import Profiles
    from phr_desktop.vault.keys import KdfParams

    seed = orjson.loads(seed_path.read_bytes())
    wanted = set(types)
    entries = [
        entry
        for entry in seed.get("entry") or []
        if (entry.get("resource") or {}).get("resourceType") in wanted
    ]
    bundle = workdir / "same-resources.json"
    document = {"resourceType": "Bundle", "type": "collection", "entry": entries}
    bundle.write_bytes(orjson.dumps(document))
    profiles = Profiles(workdir / "profiles")
    session, _recovery = profiles.create("bench", "pw", kdf=KdfParams.minimum())
    try:
        started, cpu_started = time.perf_counter(), time.process_time()
        report = session.import_paths([bundle], same_person=True)
        seconds = time.perf_counter() - started
        cpu_seconds = time.process_time() - cpu_started
    finally:
        session.close()
    return {
        "seconds": seconds,
        "cpu_seconds": cpu_seconds,
        "resources": len(entries),
        "new": report.totals.new,
    }


def print_parts(
    parts: dict[str, float], process_cpu: float, resources: int, imported: dict[str, Any]
) -> None:
    print(f"phr CPU    one more sync with its parts counted: {process_cpu:.2f} s CPU")
    for part, seconds in parts.items():
        share = seconds / process_cpu * 100 if process_cpu else 0.0
        per = seconds / resources * 1e6 if resources else 0.0
        print(f"           {part:<60} {seconds:5.3f} s {share:4.0f} % {per:6.1f} us a resource")
    per_import = imported["cpu_seconds"] / max(imported["resources"], 1) * 1e6
    print(
        f"import     the same {imported['resources']} resources as one Bundle file: "
        f"{imported['seconds']:.2f} s (CPU {imported['cpu_seconds']:.2f} s, "
        f"{per_import:.1f} us a resource), {imported['new']} stored"
    )
