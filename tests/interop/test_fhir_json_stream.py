"""Reading a Bundle entry by entry gives exactly what reading it whole gives, and refuses
exactly what reading it whole refuses."""

from __future__ import annotations

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from phr_desktop.interop.errors import UnreadableFile
from phr_desktop.interop.fhir.fhir_json import parse_fhir_json
from phr_desktop.interop.fhir.json_stream import iter_fhir_json

_TEXT = st.text(alphabet=st.sampled_from(list('ab"\\{}[]:, \n\u00e9')), max_size=8)
_NUMBER = st.sampled_from([b"1.50", b"1e5", b"-0", b"123456789012345678901234", b"36.6", b"7"])
_SPACE = st.sampled_from([b"", b" ", b"\n  ", b"\t"])


@st.composite
def _bundle(draw: st.DrawFn) -> bytes:
    space = draw(_SPACE)
    entries = []
    for index in range(draw(st.integers(0, 6))):
        text = orjson.dumps(draw(_TEXT))
        number = draw(_NUMBER)
        resource = b'{"resourceType":"Observation","id":"o%d","note":[{"text":%s}],%s"v":%s%s}' % (
            index,
            text,
            space,
            space,
            number,
        )
        if draw(st.booleans()):
            resource = b'{"resourceType":"Bundle","entry":[{"resource":%s}]}' % resource
        entries.append(b'{"fullUrl":%s,"resource":%s}' % (text, resource))
    head = b'{"resourceType":"Bundle",%s"type":"collection",' % space
    link = b'"link":[{"relation":"self","url":"x]}"}],' if draw(st.booleans()) else b""
    return head + link + b'"entry":[' + (b"," + space).join(entries) + space + b"]}"


@settings(max_examples=150, deadline=None)
@given(_bundle())
def test_entry_by_entry_gives_what_reading_whole_gives(data: bytes) -> None:
    whole = [(p.resource_type, p.resource_id, p.body) for p in parse_fhir_json(data, "b.json")]
    streamed = [(p.resource_type, p.resource_id, p.body) for p in iter_fhir_json(data, "b.json")]
    assert streamed == whole


@pytest.mark.parametrize(
    "data",
    [
        b'{"resourceType":"Bundle","entry":[{"resource":{}} {"resource":{}}]}',
        b'{"resourceType":"Bundle","entry":[{"resource":{}},,{"resource":{}}]}',
        b'{"resourceType":"Bundle","entry":[{"resource":{}},]}',
        b'{"resourceType":"Bundle","entry":[{"resource":{}}',
        b'{"resourceType":"Bundle","entry":[{"resource":{"x":tru}}]}',
        b'{"resourceType":"Bundle","entry":[{"resource":{}}], "type":}',
        b'{"resourceType":"Bundle","entry":[{"resource":{}}]}}',
        # A value glued to the entry beside it (the gap was once checked as "[0,1.500]").
        b'{"resourceType":"Bundle","entry":[{"resource":{}}, 1.50{"resource":{}}]}',
        b'{"resourceType":"Bundle","entry":[{"resource":{}}e5, {"resource":{}}]}',
    ],
)
def test_a_broken_bundle_is_refused_as_reading_whole_refuses_it(data: bytes) -> None:
    with pytest.raises(UnreadableFile):
        list(iter_fhir_json(data, "b.json"))


def test_a_fault_in_an_entry_is_reported_at_its_line_in_the_file() -> None:
    data = b'{"resourceType":"Bundle",\n"entry":[\n{"resource":{"a":1}},\n{"resource":{"a":tru}}]}'
    with pytest.raises(UnreadableFile) as refused:
        list(iter_fhir_json(data, "b.json"))
    assert refused.value.line == 4


def test_what_is_not_a_bundle_is_read_whole() -> None:
    single = b'{"entry":[{"resource":{"resourceType":"X"}}],"resourceType":"Observation","id":"a"}'
    assert [p.resource_id for p in iter_fhir_json(single, "o.json")] == ["a"]
    ndjson = b'{"resourceType":"Observation","id":"a"}\n\n{"resourceType":"Observation","id":"b"}\n'
    assert [p.resource_id for p in iter_fhir_json(ndjson, "o.ndjson")] == ["a", "b"]


def test_values_in_bundle_entry_that_are_not_objects_are_passed_over_as_when_read_whole() -> None:
    data = (
        b'{"resourceType":"Bundle","entry":[null, {"resource":{"resourceType":"Observation",'
        b'"id":"a"}}, [1, {"x": "]"}], "}", 7 ,{"resource":{"resourceType":"Observation",'
        b'"id":"b"}}, false]}'
    )
    whole = [p.body for p in parse_fhir_json(data, "b.json")]
    assert [p.body for p in iter_fhir_json(data, "b.json")] == whole and len(whole) == 2


def test_a_bundle_that_names_its_type_after_its_entries_is_still_read_entry_by_entry(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from phr_desktop.interop.fhir import json_stream

    data = (
        b'{"entry":[{"resource":{"resourceType":"Observation","id":"a"}}],"resourceType":"Bundle"}'
    )
    monkeypatch.setattr(json_stream, "parse_fhir_json", None)  # reading whole would fail here
    assert [p.resource_id for p in json_stream.iter_fhir_json(data, "b.json")] == ["a"]
