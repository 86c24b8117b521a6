"""The import benchmark's measurements, each run in a child process, and the parent's side."""

from __future__ import annotations

import argparse
import hashlib
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import orjson
from process_usage import (
    ChildPeakWatcher,
    finished_children_cpu_seconds,
    peak_rss_bytes,
    reset_work_peak,
    stopped_clocks,
    work_peak_bytes,
)

# The child processes are started as the benchmark script, whose --phase runs `run_phase`.
SCRIPT = Path(__file__).resolve().with_name("import_bench.py")
TIMELINE_READS = 5  # each timeline read is a few ms: best of this many


def _floor(files: list[Path], workdir: Path, transaction: str) -> dict[str, Any]:
    import sqlcipher3

    conn = sqlcipher3.connect(str(workdir / "floor.db"), isolation_level=None)
    conn.execute(f"PRAGMA key = \"x'{os.urandom(32).hex()}'\"")
    conn.execute("PRAGMA journal_mode = WAL")
    conn.execute("PRAGMA synchronous = FULL")
    conn.execute(
        "CREATE TABLE raw (id INTEGER PRIMARY KEY, resource_type TEXT NOT NULL, "
        "resource_id TEXT NOT NULL, body BLOB NOT NULL, sha256 TEXT NOT NULL)"
    )
    insert = "INSERT INTO raw (resource_type, resource_id, body, sha256) VALUES (?, ?, ?, ?)"
    rss_before = peak_rss_bytes()
    was_reset = reset_work_peak()
    pending: list[tuple[str, str, bytes, str]] = []
    cpu_started = time.process_time()
    started = time.perf_counter()
    for path in files:
        bundle = orjson.loads(path.read_bytes())
        rows = pending if transaction == "all" else []
        for entry in bundle.get("entry") or []:
            resource = entry.get("resource")
            body = orjson.dumps(resource)
            rows.append(
                (
                    resource["resourceType"],
                    resource.get("id", ""),
                    body,
                    hashlib.sha256(body).hexdigest(),
                )
            )
        if transaction == "file":
            conn.execute("BEGIN IMMEDIATE")
            conn.executemany(insert, rows)
            conn.execute("COMMIT")
    if transaction == "all":
        conn.execute("BEGIN IMMEDIATE")
        conn.executemany(insert, pending)
        conn.execute("COMMIT")
    seconds, cpu_seconds, work_peak = stopped_clocks(started, cpu_started, was_reset)
    stored = conn.execute("SELECT count(*) FROM raw").fetchone()[0]
    conn.close()
    return {
        "seconds": seconds,
        "cpu_seconds": cpu_seconds,
        "stored": stored,
        "rss_before_bytes": rss_before,
        "work_peak_rss_bytes": work_peak,
    }


def _matching_off() -> None:
    """Today's import without issue 13's matching, in this process: no person check, no fact
    links (nothing of the store's linking step runs) and no fact-key index (the fact key is
    still hashed where files are prepared)."""
    from phr_desktop.domain.person_match import Verdict
    from phr_desktop.services.person import PersonCheck, PersonService
    from phr_desktop.vault.store import RecordStore

    def unchecked(self: object, patients: object) -> PersonCheck:
        return PersonCheck(Verdict.SAME, "matching off", None, None)

    def no_links(self: object, *args: object) -> dict[int, int]:
        return {}  # no added record repeats another

    def no_relink(self: object, *args: object) -> None:
        return None

    PersonService.check = unchecked  # type: ignore[method-assign]
    RecordStore._link_facts = no_links  # type: ignore[method-assign,assignment]
    RecordStore._relink_rewritten = no_relink  # type: ignore[method-assign,assignment]


def _import(files: list[Path], workdir: Path, matching: bool = True) -> dict[str, Any]:
    from phr_desktop.services.profiles import Profiles
    from phr_desktop.vault.keys import KdfParams

    session, _recovery = Profiles(workdir).create("bench", "pw", kdf=KdfParams.minimum())
    if not matching:
        _matching_off()
        session.vault.conn.execute("DROP INDEX records_by_fact")
    rss_before = peak_rss_bytes()
    was_reset = reset_work_peak()
    try:
        cpu_started, children_started = time.process_time(), finished_children_cpu_seconds()
        started = time.perf_counter()
        with ChildPeakWatcher() as children:
            # Synthea's files are many people: "they are all me" (--same-person), so every
            # file is checked and imported, as one person's files from several sources are.
            report = session.import_paths(files, same_person=True)
        seconds = time.perf_counter() - started
        cpu_seconds = time.process_time() - cpu_started
        children_cpu_seconds = finished_children_cpu_seconds() - children_started
        work_peak = work_peak_bytes(was_reset)
    finally:
        session.close()
    totals = report.totals
    return {
        "seconds": seconds,
        "cpu_seconds": cpu_seconds,
        "children_cpu_seconds": children_cpu_seconds,
        "children_peak_rss_bytes": children.peak,
        "stored": totals.new + totals.updated + totals.older_kept,
        "unchanged": totals.unchanged,
        "records": totals.records,
        "failed_files": len(report.failed),
        "rss_before_bytes": rss_before,
        "work_peak_rss_bytes": work_peak,
        "stages": report.times.rows(),
    }


def _timeline(files: list[Path], workdir: Path) -> dict[str, Any]:
    """One fact once, read back: the same files imported as one source, then again as a
    second source (every record a repeat of the first's): the deduplicated timeline (all ids
    in order, and the year/month buckets) against the one-source profile's."""
    from phr_desktop.services.profiles import Profiles
    from phr_desktop.vault.keys import KdfParams

    def read_times(session: Any) -> dict[str, Any]:
        """Best of TIMELINE_READS, in wall and in CPU time (a busy machine stretches the
        former: a few ms read twice a minute apart differ by more than the 1.5x looked for)."""
        best = dict.fromkeys(("ids_s", "buckets_s", "ids_cpu_s", "buckets_cpu_s"), float("inf"))
        count = 0
        for _ in range(TIMELINE_READS):
            for name, read in (("ids", session.record_ids), ("buckets", session.timeline)):
                started, cpu_started = time.perf_counter(), time.process_time()
                shown = read()
                best[f"{name}_s"] = min(best[f"{name}_s"], time.perf_counter() - started)
                best[f"{name}_cpu_s"] = min(
                    best[f"{name}_cpu_s"], time.process_time() - cpu_started
                )
                if name == "ids":
                    count = len(shown)
        return {**best, "shown": count}

    session, _recovery = Profiles(workdir).create("bench", "pw", kdf=KdfParams.minimum())
    try:
        session.import_paths(files, source_name="Source A", same_person=True)
        one = read_times(session)
        started = time.perf_counter()
        second = session.import_paths(files, source_name="Source B", same_person=True)
        second_seconds = time.perf_counter() - started
        two = read_times(session)
        repeats = session.vault.conn.execute(
            "SELECT count(*) FROM records WHERE same_as IS NOT NULL"
        ).fetchone()[0]
    finally:
        session.close()
    return {
        "seconds": second_seconds,
        "cpu_seconds": 0.0,
        "rss_before_bytes": 0,
        "work_peak_rss_bytes": None,
        "second_source_records": second.totals.records,
        "repeats_linked": repeats,
        "one_source": one,
        "two_sources": two,
    }


def run_phase(phase: str, files_list: Path, tmp_root: Path | None, transaction: str) -> None:
    """In the child: one measurement on the listed files, printed as one JSON line."""
    files = [Path(line) for line in files_list.read_text(encoding="utf-8").splitlines() if line]
    with tempfile.TemporaryDirectory(prefix=f"phr-bench-{phase}-", dir=tmp_root) as tmp:
        if phase == "floor":
            result = _floor(files, Path(tmp), transaction)
        elif phase == "timeline":
            result = _timeline(files, Path(tmp))
        else:
            result = _import(files, Path(tmp), matching=phase == "import")
    # Resetting the work peak also resets VmHWM, so take the larger of setup and work.
    result["peak_rss_bytes"] = max(peak_rss_bytes(), result["rss_before_bytes"])
    sys.stdout.buffer.write(orjson.dumps(result) + b"\n")


def run_in_child(phase: str, files_list: Path, args: argparse.Namespace) -> dict[str, Any]:
    """In the parent: one phase as `import_bench.py --phase …` in a process of its own (so
    its peak RSS is its own); its figures."""
    command = [
        sys.executable,
        str(SCRIPT),
        "--phase",
        phase,
        "--files-list",
        str(files_list),
        "--floor-transaction",
        args.floor_transaction,
    ]
    if args.tmp_dir:
        command += ["--tmp-dir", str(args.tmp_dir)]
    done = subprocess.run(command, stdout=subprocess.PIPE)
    if done.returncode != 0:
        raise SystemExit(
            f"error: the {phase} measurement failed (exit {done.returncode}); see above"
        )
    return orjson.loads(done.stdout.strip().splitlines()[-1])
