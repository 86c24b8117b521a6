"""Property: the one-pass exact reader stores what the reader before it stored. For any damaged
FHIR JSON file, each resource's body and hash are the same as the byte scan and the orjson or
stdlib reread gave, and a file either reader refuses is refused by both, with the same message.
(NDJSON lines are judged one at a time, as the streaming reader already did.)"""

from __future__ import annotations

import re

from hypothesis import given
from hypothesis import strategies as st

from phr_desktop.interop.errors import UnreadableFile
from phr_desktop.interop.fhir.fhir_json import (
    ParsedResource,
    check_size,
    flatten,
    has_lossy_numbers,
    is_ndjson,
    loads,
    parse_fhir_json,
)
from phr_desktop.interop.fhir.json_stream import iter_fhir_json
from tests.fuzz.conftest import FUZZ
from tests.fuzz.mutations import JSON_TOKENS, mutated
from tests.fuzz.test_fuzz_importers import FHIR_SEEDS

# Literals the one-pass reader must hand on exactly as the reader before it did.
NUMBER_TOKENS = [
    b"1.50", b"2.0", b"100.0", b"-0.0", b"1E5", b"-1e-7", b"18446744073709551616",
    b"9223372036854775808", b"-9223372036854775809", b"12345678901234567890123", b"0",
    b" -0 ", b"[" * 260, b"]" * 260, b'"\\ud800"', b'"\\ud83d\\ude00"', b"\\/",
]  # fmt: skip
NUMBERS_SEED = b"""{"resourceType": "Bundle", "type": "collection", "entry": [
  {"resource": {"resourceType": "Observation", "id": "a", "valueQuantity": {"value": 36.6}}},
  {"resource": {"resourceType": "Observation", "id": "b", "valueQuantity": {"value": 1.50},
    "referenceRange": [{"low": {"value": 0.5}, "high": {"value": 12}}]}},
  {"resource": {"resourceType": "Observation", "id": "c", "valueInteger": 7,
    "component": [{"valueQuantity": {"value": 1e-3}}, {"valueQuantity": {"value": 2E2}}]}}
]}"""
SEEDS = [*FHIR_SEEDS, NUMBERS_SEED]


def _stored(data: bytes) -> list[tuple[str, bytes, str]] | str:
    try:
        return [(p.resource_id, p.body, p.sha256) for p in parse_fhir_json(data, "f.json")]
    except UnreadableFile as exc:
        return str(exc)


def _stored_before(data: bytes) -> list[tuple[str, bytes, str]] | str:
    """The reader before: a byte scan for lossy literals, then orjson or the stdlib reader."""
    name = "f.json"
    try:
        check_size(data, name)
        parsed: list[ParsedResource] = []
        if is_ndjson(data):
            for number, line in enumerate(data.splitlines()):
                if line.strip():
                    parsed.extend(flatten(loads(line, name, has_lossy_numbers(line), number), name))
        else:
            parsed.extend(flatten(loads(data, name, has_lossy_numbers(data)), name))
        return [(p.resource_id, p.body, p.sha256) for p in parsed]
    except UnreadableFile as exc:
        return str(exc)


@FUZZ
@given(st.one_of(*(mutated(seed, JSON_TOKENS + NUMBER_TOKENS) for seed in SEEDS)))
def test_the_one_pass_reader_stores_what_the_scan_and_reread_stored(data: bytes) -> None:
    now, before = _stored(data), _stored_before(data)
    if now != before and isinstance(before, str) and _is_a_lone_number(data):
        # The scan before never judged a document (or line) that is one number ("1e400"), so orjson
        # refused that as infinite; now it is read and refused as not a FHIR resource.
        assert "not a FHIR resource" in now
        return
    assert now == before


def _is_a_lone_number(data: bytes) -> bool:
    """The document, or a line of it (NDJSON), is a single number."""
    return bool(re.search(rb"(?m)^[ \t\r]*-?\d[\d.eE+-]*[ \t\r]*$", data))


@FUZZ
@given(
    st.one_of(*(mutated(seed, JSON_TOKENS + NUMBER_TOKENS) for seed in (SEEDS[0], NUMBERS_SEED)))
)
def test_the_streaming_reader_stores_what_the_whole_file_reader_stores(data: bytes) -> None:
    try:
        streamed = [(p.resource_id, p.body, p.sha256) for p in iter_fhir_json(data, "f.json")]
    except UnreadableFile:
        return  # where a streamed file breaks is tested in tests/interop/test_fhir_json_stream.py
    assert streamed == _stored(data)
