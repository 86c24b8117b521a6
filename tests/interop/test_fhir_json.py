"""Reading FHIR JSON: every shape a portal or server hands out, exact values, clear refusals."""

from __future__ import annotations

import re

import orjson
import pytest
from hypothesis import given
from hypothesis import strategies as st

from phr_desktop.interop.errors import UnreadableFile
from phr_desktop.interop.fhir.fhir_json import parse_fhir_json

OBS = {"resourceType": "Observation", "id": "o1", "status": "final", "code": {"text": "FEV1"}}


def test_a_bundle_yields_each_entry_resource() -> None:
    bundle = {
        "resourceType": "Bundle",
        "type": "searchset",
        "entry": [{"resource": OBS}, {"resource": {**OBS, "id": "o2"}}, {"search": {}}],
    }
    parsed = parse_fhir_json(orjson.dumps(bundle), "b.json")
    assert [p.resource_id for p in parsed] == ["o1", "o2"]


def test_a_bundle_inside_a_bundle_is_flattened() -> None:
    inner = {"resourceType": "Bundle", "type": "collection", "entry": [{"resource": OBS}]}
    outer = {"resourceType": "Bundle", "type": "collection", "entry": [{"resource": inner}]}
    assert [p.resource_id for p in parse_fhir_json(orjson.dumps(outer), "b.json")] == ["o1"]


def test_a_single_resource_file_is_one_resource() -> None:
    parsed = parse_fhir_json(orjson.dumps(OBS), "o.json")
    assert len(parsed) == 1 and parsed[0].resource_type == "Observation"


def test_ndjson_yields_one_resource_per_line() -> None:
    lines = b"\n".join(orjson.dumps({**OBS, "id": f"o{i}"}) for i in range(3)) + b"\n\n"
    assert [p.resource_id for p in parse_fhir_json(lines, "x.ndjson")] == ["o0", "o1", "o2"]


def test_decimal_literals_are_stored_exactly_as_written() -> None:
    text = (
        b'{"resourceType":"Observation","id":"v","status":"final","code":{"text":"FEV1"},'
        b'"valueQuantity":{"value":1.50,"unit":"L"},"referenceRange":[{"low":{"value":2.0}}]}'
    )
    (parsed,) = parse_fhir_json(text, "v.json")
    assert b'"value":1.50' in parsed.body
    assert b'"value":2.0' in parsed.body
    assert float(parsed.resource["valueQuantity"]["value"]) == 1.5


def test_a_resource_without_id_is_identified_by_its_content() -> None:
    no_id = {k: v for k, v in OBS.items() if k != "id"}
    (a,) = parse_fhir_json(orjson.dumps(no_id), "a.json")
    (b,) = parse_fhir_json(orjson.dumps(no_id), "b.json")
    assert a.resource_id == b.resource_id and a.resource_id.startswith("sha256-")


def test_malformed_json_is_refused_with_file_line_and_reason() -> None:
    text = b'{\n  "resourceType": "Observation",\n  "id": "x",\n  "status": final\n}'
    with pytest.raises(UnreadableFile) as error:
        parse_fhir_json(text, "broken.json")
    assert error.value.line == 4
    assert "broken.json" in str(error.value) and "line 4" in str(error.value)


def test_a_broken_ndjson_line_is_reported_by_its_line_number() -> None:
    lines = orjson.dumps(OBS) + b"\n" + orjson.dumps(OBS) + b"\n{oops\n"
    with pytest.raises(UnreadableFile) as error:
        parse_fhir_json(lines, "x.ndjson")
    assert error.value.line == 3


def test_json_that_is_not_fhir_is_refused() -> None:
    with pytest.raises(UnreadableFile, match="not a FHIR resource"):
        parse_fhir_json(b'{"hello": "world"}', "x.json")


def test_text_that_is_not_utf8_is_refused() -> None:
    with pytest.raises(UnreadableFile):
        parse_fhir_json(b'{"resourceType": "Observation", "id": "\xff\xfe"}', "x.json")


@pytest.mark.parametrize("depth", [300, 5000, 200_000])
def test_hostile_nesting_is_refused_without_crashing(depth: int) -> None:
    text = b'{"resourceType":"Observation","x":' + b"[" * depth + b"]" * depth + b"}"
    with pytest.raises(UnreadableFile, match=r"nested|depth"):
        parse_fhir_json(text, "deep.json")


def test_a_file_over_the_size_cap_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("phr_desktop.interop.fhir.fhir_json.MAX_FILE_BYTES", 100)
    with pytest.raises(UnreadableFile, match="larger than"):
        parse_fhir_json(orjson.dumps({**OBS, "note": [{"text": "x" * 200}]}), "big.json")


def test_integers_beyond_64_bits_are_kept_exactly() -> None:
    text = (
        b'{"resourceType":"Observation","id":"a","status":"final",'
        b'"valueQuantity":{"value":123456789012345678901234},"x":[1.10]}'
    )
    (parsed,) = parse_fhir_json(text, "big.json")
    assert b"123456789012345678901234" in parsed.body and b"1.10" in parsed.body
    plain = text.replace(b',"x":[1.10]', b"")
    (parsed,) = parse_fhir_json(plain, "big.json")
    assert b"123456789012345678901234" in parsed.body


def test_times_and_ids_inside_strings_do_not_force_the_slow_path() -> None:
    from phr_desktop.interop.fhir.fhir_json import has_lossy_numbers

    text = b'{"id":"6e34-ab","effectiveDateTime":"2005-03-14T18:27:36.750+00:00","v":[36.6]}'
    assert not has_lossy_numbers(text)
    assert has_lossy_numbers(b'{"v": 36.60}')


@pytest.mark.parametrize(
    "literal", [b"1E5", b"1e-7", b"2.5e+3", b"-0", b"0.0000001", b"18446744073709551616", b"1.10"]
)
def test_every_kind_of_literal_orjson_would_rewrite_is_stored_as_written(literal: bytes) -> None:
    text = b'{"resourceType":"Observation","id":"e","valueQuantity":{"value":%s}}' % literal
    (parsed,) = parse_fhir_json(text, "e.json")
    assert b'"value":' + literal + b"}" in parsed.body


_LITERALS = st.sampled_from(
    [b"1.50", b"1.5", b"1e5", b"1E5", b"-1E-5", b"1e+5", b"-0", b"0", b"-0.0", b"36.6", b"1.0",
     b"100.0", b"0.000001", b"0.00001", b"1234567890.1234567", b"12345678901234567890",
     b"1234567890123456789", b"123456789012345678", b"-12", b"true", b'"x"', b'"a:1.50,"',
     b'"2020-10-0"', b'"4e6a"', b'"12:00:36.750"', b'"v1.50"', b'"-0"']
)  # fmt: skip
_SPACES = st.sampled_from([b"", b" ", b"\n  "])


@given(st.lists(_LITERALS, min_size=1, max_size=5), _SPACES, st.booleans())
def test_the_fast_lossy_number_scan_agrees_with_checking_every_literal(
    values: list[bytes], space: bytes, as_object: bool
) -> None:
    from phr_desktop.interop.fhir.fhir_json import _is_lossy, has_lossy_numbers

    if as_object:
        members = [b'"k%d":%s%s%s' % (i, space, v, space) for i, v in enumerate(values)]
        text = b"{" + b",".join(members) + b"}"
    else:
        text = b"[" + (b"," + space).join(values) + space + b"]"
    every_literal = re.finditer(rb"[:,\[]\s*(-?\d[\d.eE+-]*)(?=\s*[,\]}])", text)
    assert has_lossy_numbers(text) == any(_is_lossy(m.group(1)) for m in every_literal)


def test_the_exact_number_scan_is_linear_in_the_length_of_a_literal() -> None:
    import time

    from phr_desktop.interop.fhir.fhir_json import has_lossy_numbers

    for literal in (b"7" * 1_000_000, b"7" * 500_000 + b"." + b"7" * 500_000):
        text = b'{"v":[%s,%s]}' % (literal, literal)
        started = time.perf_counter()
        assert has_lossy_numbers(text)
        assert time.perf_counter() - started < 0.5  # was minutes: one walk per 19 digits


def test_an_integer_beyond_64_bits_reaches_the_normaliser_as_its_literal() -> None:
    from phr_desktop.vault.raw_json import ExactDecimal

    text = b'{"resourceType":"Observation","id":"i","valueInteger":123456789012345678901234}'
    (parsed,) = parse_fhir_json(text, "i.json")
    value = parsed.resource["valueInteger"]
    assert isinstance(value, ExactDecimal) and value.literal == "123456789012345678901234"
    assert parsed.body == text
