"""Search benchmark: every question's first results on 100k records, against the raw FTS5 floor.

    python bench/search_bench.py             # 100,000 records
    python bench/search_bench.py --n 20000 --json

Data: bench/ui_bench.py's 100k Observations (20 common tests and vitals over 20 years, three
sources) plus the demo profile's records (notes, vaccines, medicines, visits), imported once
into a profile cached under `.bench-cache/search-<n>/` (the import is not measured).

Per query, the median of several runs of:
- floor: the raw FTS5 query of the typed words (each a prefix, all required), its first 50
  rowids in FTS5 rank order: what the old search did, with nothing of the new;
- search: `Session.search(text, 50)`, records built: the vocabulary, spelling, two passes and
  ranking included.
Target: every query < 50 ms. Prints figures and exits 0; no test asserts on these times.
"""

from __future__ import annotations

import argparse
import json
import re
import statistics
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "bench"))

import ui_bench  # noqa: E402 - after sys.path

from phr_desktop.services.profiles import Profiles  # noqa: E402
from phr_desktop.services.session import Session  # noqa: E402

PASSPHRASE = "bench-search-profile-passphrase"
TARGET_MS = 50.0
RUNS = 5
QUERIES = [
    "AAT level",
    "alpha one",
    "vaccines",
    "covid vaccine",
    "lab results",
    "breathing test",
    "liver tests",
    "blood pressure",
    "lung doctor",
    "emfysema",
    "potasium",
    "cholecystectommmy",
    "a",
    "oxygen level 2015",
    "heart rate riverside",
    "blood pressure hepatology",
    "weight lung doctor",
    "what am I allergic to",
]


def prepare(n: int) -> Path:
    cache = ui_bench.CACHE_ROOT / f"search-{n}-v1"
    if (cache / "ready").exists():
        return cache / "data"
    print(f"first run: generating {n:,} Observations and importing them (cached in {cache})")
    files = ui_bench.generate(cache / "fhir", n)
    files += sorted((REPO / "resources" / "demo").glob("*.json"))
    profiles = Profiles(cache / "data")
    session, _ = profiles.create("bench", PASSPHRASE)
    with session:
        session.import_paths(files)
    (cache / "ready").write_text("1")
    return cache / "data"


def median_ms(action: object, runs: int = RUNS) -> tuple[float, float]:
    """(median wall ms, median CPU ms): CPU time is what a busy machine cannot inflate."""
    times, cpu_times = [], []
    for _ in range(runs):
        started, cpu_started = time.perf_counter(), time.process_time()
        action()  # type: ignore[operator]
        times.append((time.perf_counter() - started) * 1000)
        cpu_times.append((time.process_time() - cpu_started) * 1000)
    return statistics.median(times), statistics.median(cpu_times)


def floor_query(text: str) -> str:
    return " ".join(f'"{w}"*' for w in re.findall(r"\w+", text))


def measure(session: Session) -> list[dict[str, object]]:
    conn = session.vault.conn
    rows = []
    for text in QUERIES:
        raw = floor_query(text)

        def floor(raw: str = raw) -> None:
            conn.execute(
                "SELECT rowid FROM search_index WHERE search_index MATCH ? ORDER BY rank LIMIT 50",
                (raw,),
            ).fetchall()

        def search(text: str = text) -> None:
            session.search(text, 50)

        search()  # warm: the vocabulary and the statement cache, as in a running app
        found = len(session.search(text, 50))
        (floor_ms, floor_cpu_ms), (search_ms, search_cpu_ms) = median_ms(floor), median_ms(search)
        rows.append(
            {"query": text, "floor_ms": floor_ms, "search_ms": search_ms,
             "floor_cpu_ms": floor_cpu_ms, "search_cpu_ms": search_cpu_ms,
             "ratio_cpu": search_cpu_ms / floor_cpu_ms if floor_cpu_ms else None,
             "results": found}
        )  # fmt: skip
    return rows


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=100_000)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    data = prepare(args.n)
    with Profiles(data).unlock("bench", passphrase=PASSPHRASE) as session:
        records = sum(session.counts_by_kind().values())
        rows = measure(session)
    worst = max(float(str(r["search_ms"])) for r in rows)
    if args.json:
        print(json.dumps({"records": records, "target_ms": TARGET_MS, "queries": rows}, indent=1))
        return 0
    print(f"{records:,} records; median of {RUNS} runs; first 50 results")
    print(f"{'query':24} {'floor ms':>9} {'search ms':>10} {'CPU floor':>10} {'CPU search':>11}"
          f" {'CPU x floor':>12} {'results':>8}")  # fmt: skip
    for r in rows:
        ratio = f"{r['ratio_cpu']:12.1f}" if r["ratio_cpu"] is not None else f"{'-':>12}"
        print(
            f"{r['query']!s:24} {r['floor_ms']:9.1f} {r['search_ms']:10.1f} "
            f"{r['floor_cpu_ms']:10.1f} {r['search_cpu_ms']:11.1f} {ratio} {r['results']!s:>8}"
        )
    verdict = "OK" if worst < TARGET_MS else "OVER"
    print(f"slowest search {worst:.1f} ms (target < {TARGET_MS:.0f} ms): {verdict}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
