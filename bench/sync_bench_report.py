"""The sync benchmark's report: each client's figures summed up and judged, and printed."""

from __future__ import annotations

import argparse
import importlib
import os
import statistics
from typing import Any

TARGET_RATIO = 2.0  # fhirclient time / phr-desktop time (CPU on loopback, wall at +100 ms)


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
