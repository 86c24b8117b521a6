"""The sync benchmark's measurements, each run in a child process, and the parent's side."""

from __future__ import annotations

import argparse
import contextlib
import importlib
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlencode, urlsplit

import orjson
from process_usage import peak_rss_bytes, reset_work_peak, stopped_clocks
from sync_bench_http import admin, fetch_all, next_link, plain_http, search_params, use_page_size
from sync_cpu_parts import counting_cpu_parts, finish_parts, import_same_resources

from phr_desktop.smart.scopes import SYNC_TYPES

# The child processes are started as the benchmark script, whose --phase runs `run_phase`.
SCRIPT = Path(__file__).resolve().with_name("sync_bench.py")
CONNECTION_NAME = "Bench SMART"
TOKEN_ENV = "PHR_BENCH_ACCESS_TOKEN"
PHASES = ("floor", "phr", "fhirclient", "fhirclient-json")
# Run once each after the measurements with --cpu-parts (sync_cpu_parts.py).
PART_PHASES = ("phr-parts", "import-same")


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
        admin(server["origin"], "DELETE", "stats")
        rss_before = peak_rss_bytes()
        was_reset = reset_work_peak()
        started, cpu_started = time.perf_counter(), time.process_time()
        reports = session.connections.sync(full=True)
        seconds, cpu_seconds, work_peak = stopped_clocks(started, cpu_started, was_reset)
        requests = admin(server["origin"], "GET", "stats")["total"]
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


def _baseline_result(
    server: dict[str, str],
    measured: tuple[float, float, int | None],
    counts: dict[str, int],
    rss_before: int,
) -> dict[str, Any]:
    """A baseline client's figures (the floor's or fhirclient's), with the server's count of
    the requests it made."""
    seconds, cpu_seconds, work_peak = measured
    return {
        "seconds": seconds,
        "cpu_seconds": cpu_seconds,
        "counts": counts,
        "failed": [],
        "requests": admin(server["origin"], "GET", "stats")["total"],
        "rss_before_bytes": rss_before,
        "work_peak_rss_bytes": work_peak,
    }


def _floor(server: dict[str, str], token: str) -> dict[str, Any]:
    from concurrent.futures import ThreadPoolExecutor

    from phr_desktop.smart.sync import WORKERS

    base, patient = server["base"], server["patient"]
    with plain_http(token) as http:
        admin(server["origin"], "DELETE", "stats")
        rss_before = peak_rss_bytes()
        was_reset = reset_work_peak()
        started, cpu_started = time.perf_counter(), time.process_time()
        with ThreadPoolExecutor(max_workers=WORKERS) as pool:  # types in parallel, as the app
            fetched = pool.map(lambda rtype: fetch_all(http, base, patient, rtype), SYNC_TYPES)
            counts = dict(zip(SYNC_TYPES, fetched, strict=True))
        measured = stopped_clocks(started, cpu_started, was_reset)
    return _baseline_result(server, measured, counts, rss_before)


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
    admin(server["origin"], "DELETE", "stats")
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
            search = classes[rtype].where(struct=search_params(patient))
            resources = list(search.perform_resources_iter(fhir))
            kept.append(resources)
            counts[rtype] = len(resources)
        else:
            path: str | None = f"{rtype}?{urlencode(search_params(patient))}"
            counts[rtype] = 0
            while path:
                page = fhir.request_json(path)  # an absolute next link replaces the base
                kept.append(page)
                counts[rtype] += len(page.get("entry") or [])
                path = next_link(page)
    measured = stopped_clocks(started, cpu_started, was_reset)
    return _baseline_result(server, measured, counts, rss_before)


def run_phase(args: argparse.Namespace) -> None:
    """In the child: one measurement against the running server, printed as one JSON line."""
    use_page_size(args.count)
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


def run_in_child(
    phase: str,
    server: Any,
    token: str,
    args: argparse.Namespace,
    profile: Path | None = None,
    seed_file: Path | None = None,
) -> dict[str, Any]:
    """In the parent: one phase as `sync_bench.py --phase …` in a process of its own (so its
    peak RSS is its own); its figures, or an error if the client failed."""
    runner = ["-m", "cProfile", "-o", str(profile)] if profile else []
    command = [
        sys.executable, *runner, str(SCRIPT), "--phase", phase,
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
