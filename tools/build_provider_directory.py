"""Build resources/providers/ from the shared provider directory (SMART User-access Brands
bundles): the compact, xz-compressed files the app searches, and their provenance.

    python tools/build_provider_directory.py [../shared/directory]

The same parser the app uses for `phr providers update FILE` reads the bundles, so the shipped
files and a user's update can never differ in what they accept.
"""

from __future__ import annotations

import argparse
import shutil
import sys
from pathlib import Path

import orjson

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # this checkout's phr_desktop, run as a script

from phr_desktop.domain.provider_directory import parse_brands_bundle  # noqa: E402
from phr_desktop.services.provider_directory import (  # noqa: E402
    ATHENA_FILE,
    BRANDS_FILE,
    compress_directory,
)

TARGET = ROOT / "resources" / "providers"
INPUTS = {BRANDS_FILE: "endpoints.json", ATHENA_FILE: "athena-practices.json"}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "source", nargs="?", default=str(ROOT.parent.parent / "shared" / "directory"),
        help="folder with endpoints.json, athena-practices.json and README.md",
    )  # fmt: skip
    source = Path(parser.parse_args().source)
    TARGET.mkdir(parents=True, exist_ok=True)
    for output, name in INPUTS.items():
        parsed = parse_brands_bundle(orjson.loads((source / name).read_bytes()))
        data = compress_directory(parsed)
        (TARGET / output).write_bytes(data)
        tests = sum(p.test_system for p in parsed.providers)
        print(
            f"{output}: {len(parsed.providers):,} organisations ({tests} test systems, "
            f"{parsed.skipped} skipped), {len(data) / 1e6:.2f} MB"
        )
    shutil.copyfile(source / "README.md", TARGET / "SOURCES.md")
    return 0


if __name__ == "__main__":
    sys.exit(main())
