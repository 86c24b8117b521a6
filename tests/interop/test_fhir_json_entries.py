"""An import reads a Bundle one entry at a time: the same resources, and the same refusals,
as reading it whole, without ever holding the whole file as objects (the import's worker
held ~3 times its largest file that way)."""

from __future__ import annotations

import tracemalloc

import orjson
import pytest

from phr_desktop.interop.errors import UnreadableFile
from phr_desktop.interop.fhir.fhir_json import iter_parse_fhir_json, parse_fhir_json

OBS = {"resourceType": "Observation", "id": "o1", "status": "final", "code": {"text": "FEV1"}}


def _bundle(*entries: bytes) -> bytes:
    return b'{"resourceType":"Bundle","type":"collection","entry":[' + b",".join(entries) + b"]}"


def _entry(resource: dict[str, object]) -> bytes:
    return b'{"resource":' + orjson.dumps(resource) + b"}"


READ_ALIKE = {
    "plain entries": _bundle(_entry(OBS), _entry({**OBS, "id": "o2"})),
    "exact numbers in an entry": _bundle(
        _entry(OBS),
        b'{"resource":{"resourceType":"Observation","id":"n","valueQuantity":'
        b'{"value":1.50},"x":[-0, 1e400, 123456789012345678901234, 0.0000001]}}',
    ),
    "a Bundle inside an entry": _bundle(
        _entry({"resourceType": "Bundle", "entry": [{"resource": OBS}, {"resource": OBS}]})
    ),
    "entries without a resource": _bundle(b'{"search":{}}', b"null", b"7", _entry(OBS)),
    "no entries": b'{"resourceType":"Bundle","type":"collection"}',
    "null entries": b'{"resourceType":"Bundle","entry":null}',
    "entry given twice (the last counts)": b'{"resourceType":"Bundle","entry":[7],"entry":['
    + _entry(OBS)
    + b"]}",
    "a resource without an id": _bundle(_entry({"resourceType": "Patient", "gender": "other"})),
    "a single resource": orjson.dumps(OBS),
    "text after a string with braces": _bundle(
        _entry({**OBS, "note": [{"text": '}], "entry": [ {'}]})
    ),
}


@pytest.mark.parametrize("text", READ_ALIKE.values(), ids=READ_ALIKE.keys())
def test_reading_entry_by_entry_gives_what_reading_the_file_whole_gives(text: bytes) -> None:
    whole = parse_fhir_json(text, "b.json")
    by_entry = list(iter_parse_fhir_json(text, "b.json"))
    assert [(p.resource, p.body, p.sha256) for p in by_entry] == [
        (p.resource, p.body, p.sha256) for p in whole
    ]


REFUSED_ALIKE = {
    "malformed JSON in the third entry": _bundle(
        _entry(OBS), b"\n" + _entry(OBS), b'\n{"resource": {"id": oops}}'
    ),
    "text that is not UTF-8 in an entry": _bundle(_entry(OBS), b'\n{"resource":{"id":"\xff"}}'),
    "text after the Bundle": _bundle(_entry(OBS)) + b"\n{}",
    "Bundle.entry not a list": b'{"resourceType":"Bundle","entry":{"resource":{}}}',
    "resourceType not a string": b'{"resourceType":7,"entry":[]}',
    "an entry nested too deep": _bundle(b'{"resource":{"x":' + b"[" * 5000 + b"]" * 5000 + b"}}"),
    "NaN in an entry": _bundle(b'{"resource":{"resourceType":"Observation","v":NaN}}'),
}


@pytest.mark.parametrize("text", REFUSED_ALIKE.values(), ids=REFUSED_ALIKE.keys())
def test_a_bundle_read_entry_by_entry_is_refused_as_the_whole_file_is(text: bytes) -> None:
    with pytest.raises(UnreadableFile) as whole:
        parse_fhir_json(text, "b.json")
    with pytest.raises(UnreadableFile) as by_entry:
        list(iter_parse_fhir_json(text, "b.json"))
    assert str(by_entry.value) == str(whole.value)
    assert (by_entry.value.line, by_entry.value.column) == (whole.value.line, whole.value.column)


def test_a_large_bundle_is_never_held_as_objects_while_its_resources_are_read() -> None:
    text = _bundle(
        *(_entry({**OBS, "id": f"o{i}", "note": [{"text": "x" * 400}]}) for i in range(5_000))
    )
    list(iter_parse_fhir_json(_bundle(_entry(OBS)), "warm.json"))  # modules loaded, not counted
    tracemalloc.start()
    try:
        for _resource in iter_parse_fhir_json(text, "big.json"):
            pass  # each let go of before the next, as the import's chunks are
        _now, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    # Read whole, the tree of a file is ~3 times its size; entry by entry, a small part of it.
    assert peak < len(text) / 4, f"{peak:,} bytes at the peak for a {len(text):,}-byte file"
