"""Every record the normaliser makes from the test data, rendered exactly, to check that a
faster normaliser makes the very same records (issue 16).

The inputs are the FHIR and C-CDA files of tests/data, the demo records, and damaged copies of
their resources (tests/data/normalise/mutated.ndjson.gz: keys dropped, values of the wrong
type or out of range, codings in older system forms) written once by `write_mutated`. Each
resource is parsed the way an import parses it (exact number literals included) and rendered
as its `Record` and the row the store writes (`RecordData`: columns, fact key, tags, search
text).

`python -m tests.domain.normaliser_outputs --write` records the outputs of the code checked
out as tests/data/normalise/expected.jsonl.gz: do that only for a deliberate change of what
the normaliser makes, and say why in the commit.
"""

from __future__ import annotations

import dataclasses
import gzip
import json
import random
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson

from phr_desktop.domain.normalise import NORMALISED_TYPES
from phr_desktop.domain.records import Record
from phr_desktop.domain.same_fact import identifier_key
from phr_desktop.interop.errors import UnreadableFile
from phr_desktop.interop.fhir.fhir_json import ParsedResource, iter_parse_fhir_json
from phr_desktop.interop.file_kinds import HEAD_BYTES, detect
from phr_desktop.services.import_prepare import _parse
from phr_desktop.services.terminology import normalise_resource
from phr_desktop.vault.prepared import record_data

ROOT = Path(__file__).resolve().parents[2]
DATA = ROOT / "tests" / "data"
MUTATED = DATA / "normalise" / "mutated.ndjson.gz"
EXPECTED = DATA / "normalise" / "expected.jsonl.gz"


def fixture_files() -> list[Path]:
    """The test data files that hold FHIR resources or C-CDA documents, in a fixed order."""
    patterns = ("normalise/fhir/*", "ccda/**/*.xml", "identity/*.xml", "import_detection/*")
    found = [p for pattern in patterns for p in DATA.glob(pattern) if p.suffix != ".md"]
    found += [*DATA.glob("imaging/*.json"), *DATA.glob("ccd_export/*.json")]
    found += sorted((ROOT / "resources" / "demo").glob("*.json"))
    return sorted({p for p in found if p.is_file() and p.name != "SHA256SUMS"})


def parsed_resources(path: Path) -> list[ParsedResource]:
    """The file's resources as an import reads them; none for a file it would refuse."""
    data = path.read_bytes()
    try:
        return list(_parse(data, detect(data[:HEAD_BYTES]), path.name))
    except UnreadableFile:
        return []


def mutated_resources() -> list[ParsedResource]:
    lines = gzip.decompress(MUTATED.read_bytes()).splitlines()
    return [item for line in lines for item in iter_parse_fhir_json(line, MUTATED.name)]


def inputs() -> Iterator[tuple[str, list[ParsedResource]]]:
    for path in fixture_files():
        yield path.relative_to(ROOT).as_posix(), parsed_resources(path)
    yield MUTATED.relative_to(ROOT).as_posix(), mutated_resources()


def _record_fields(record: Record | None) -> list[list[str]] | None:
    """Every field of the record with its type and repr (tags sorted: a frozenset's order
    changes between runs)."""
    if record is None:
        return None
    fields = []
    for field in dataclasses.fields(record):
        value = getattr(record, field.name)
        if field.name == "tags":
            value = sorted(value)
        fields.append([field.name, type(value).__name__, repr(value)])
    return fields


def rendered(label: str, index: int, item: ParsedResource) -> str:
    """One resource's record and stored row, exactly, as one line of JSON (or the error that
    stopped it, so that a change there shows too)."""
    try:
        record = normalise_resource(item.resource)
        row = (
            record_data(record, identifier_key(item.resource_type, item.resource))
            if record
            else None
        )
    except Exception as exc:  # rendered, to compare
        return json.dumps([label, index, "raises", f"{type(exc).__name__}: {exc}"])
    return json.dumps([label, index, _record_fields(record), repr(row)], ensure_ascii=False)


def all_rendered() -> Iterator[str]:
    for label, items in inputs():
        for index, item in enumerate(items):
            yield rendered(label, index, item)


def expected() -> list[str]:
    return gzip.decompress(EXPECTED.read_bytes()).decode().splitlines()


# --- writing the damaged copies and the expected outputs -----------------------------------

_ODD_VALUES: list[Any] = [
    None, "", "   ", " padded ", 0, 1, -1, True, False, [], {}, "x", "2015", "2015-07",
    "2015-13", "2015-02-30T10:00", "2015-02-03T10:00:00Z", "2015-02-03T10:00:00.123+05:30",
    "12/03/2015", "@1e400@", "@-1E+400@", "@1.50@", "@-0@", "@0.0000001@", 2.5,
    "@100000000000000000000@",
    [{"text": "odd"}], {"text": "  spaced  "}, {"coding": "not a list"}, {"coding": [None, 3]},
    {"code": "8480-6", "system": "urn:oid:2.16.840.1.113883.6.1"},
]  # fmt: skip
_ODD_NUMBERS: list[Any] = [
    "@1e400@", "@-1E+400@", "@1.50@", "@-0@", "@0.0000001@", "@100000000000000000000@", 0, -3,
    2.5, True, "7", None,
]  # fmt: skip
_SYSTEMS = [
    "urn:oid:2.16.840.1.113883.6.1", "urn:oid:2.16.840.1.113883.6.96", "http://snomed.info/sct/",
    "urn:oid:2.16.840.1.113883.6.88", "http://hl7.org/fhir/sid/icd-10-us", " http://loinc.org ",
    "urn:oid:2.16.840.1.113883.6.12", "", "http://www.nlm.nih.gov/research/umls/rxnorm/",
]  # fmt: skip
_UNITS = ["mg/dL", "MG / DL", "10*3/uL", "{cells}/µL", "[IU]/L", "μmol/L", "", " % "]
_META = [
    {"security": [{"system": "http://terminology.hl7.org/CodeSystem/v3-Confidentiality",
                   "code": "R"}]},
    {"security": [{"code": "V"}], "source": " Clinic "},
    {"tag": [{"system": "urn:phr:data-quality", "display": "odd source"}]},
    {"tag": [{"system": "urn:phr:data-quality"}], "versionId": 3, "lastUpdated": 5},
]  # fmt: skip


def _paths(node: Any, path: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    yield path
    if isinstance(node, dict):
        for key, child in node.items():
            yield from _paths(child, (*path, key))
    elif isinstance(node, list):
        for index, child in enumerate(node):
            yield from _paths(child, (*path, index))


def _mutate(resource: dict[str, Any], rng: random.Random) -> None:
    paths = [p for p in _paths(resource) if p and p != ("resourceType",)]
    for _ in range(rng.randint(1, 4)):
        if not paths:
            return
        path = rng.choice(paths)
        parent: Any = resource
        try:
            for key in path[:-1]:
                parent = parent[key]
            value = parent[path[-1]]
        except (KeyError, IndexError, TypeError):
            continue  # an earlier change of this resource took the path away
        if not isinstance(parent, dict | list):
            continue
        action = rng.choice(["drop", "odd", "odd", "wrap", "unwrap", "double", "system", "unit"])
        last = path[-1]
        if action == "drop" and isinstance(parent, dict):
            del parent[last]
        elif action == "odd":
            parent[last] = rng.choice(_ODD_VALUES)
        elif action == "wrap":
            parent[last] = [value]
        elif action == "unwrap" and isinstance(value, list) and value:
            parent[last] = value[0]
        elif action == "double" and isinstance(value, list) and value:
            value.append(value[0])
        elif action == "system" and last in ("system", "code"):
            parent["system"] = rng.choice(_SYSTEMS)
        elif action == "unit" and last in ("unit", "code", "value"):
            parent["unit"] = rng.choice(_UNITS)
    numbers = [p for p in _paths(resource) if p and p[-1] == "value"]
    if numbers and rng.random() < 0.5:  # a quantity's value: where numbers matter
        parent = resource
        for key in rng.choice(numbers)[:-1]:
            parent = parent[key]
        if isinstance(parent, dict):
            parent["value"] = rng.choice(_ODD_NUMBERS)
    if rng.random() < 0.1:
        resource["meta"] = rng.choice(_META)


def write_mutated(seed: int = 16, per_type: int = 250) -> None:
    """Damaged copies of up to `per_type` resources of each normalised type in the fixtures."""
    rng = random.Random(seed)
    by_type: dict[str, list[dict[str, Any]]] = {}
    for path in fixture_files():
        for item in parsed_resources(path):
            if item.resource_type in NORMALISED_TYPES:
                by_type.setdefault(item.resource_type, []).append(orjson.loads(item.body))
    lines = []
    for rtype in sorted(by_type):
        chosen = by_type[rtype]
        for resource in rng.sample(chosen, min(per_type, len(chosen))):
            _mutate(resource, rng)
            text = orjson.dumps(resource)
            for odd in ("1e400", "-1E+400", "1.50", "-0", "0.0000001", "100000000000000000000"):
                text = text.replace(f'"@{odd}@"'.encode(), odd.encode())
            lines.append(text)
    MUTATED.write_bytes(gzip.compress(b"\n".join(lines) + b"\n", mtime=0))


def write_expected() -> None:
    text = "".join(line + "\n" for line in all_rendered())
    EXPECTED.write_bytes(gzip.compress(text.encode(), mtime=0))


if __name__ == "__main__":
    if sys.argv[1:] == ["--write-mutated"]:
        write_mutated()
    elif sys.argv[1:] == ["--write"]:
        write_expected()
    else:
        sys.exit("usage: python -m tests.domain.normaliser_outputs --write | --write-mutated")
