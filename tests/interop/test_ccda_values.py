"""C-CDA data types read the way real EHRs write them (shapes seen in tests/data/ccda/vendors)."""

from __future__ import annotations

from decimal import Decimal

from lxml import etree

from phr_desktop.interop.ccda.values import (
    Narrative,
    identifiers,
    period_of,
    quantity,
    value_fields,
)
from phr_desktop.interop.xml_safety import parse_xml

V3 = 'xmlns="urn:hl7-org:v3" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"'


def _el(xml: str) -> etree._Element:
    wrapped = f"<wrap {V3}>{xml}</wrap>".encode()
    return parse_xml(wrapped, "snippet.xml").getroot()[0]


def _value(xml: str) -> dict:
    el = _el(xml)
    return value_fields(el, Narrative(el))


def test_a_result_whose_number_is_only_in_a_translation_keeps_its_value_and_unit() -> None:
    # athenahealth: the unit is not UCUM, so the PQ is nulled and the number moves to a PQR.
    found = _value(
        '<value xsi:type="PQ" nullFlavor="OTH"><translation nullFlavor="OTH" value="11.5">'
        "<originalText>x10e3/uL</originalText></translation></value>"
    )
    assert found == {"valueQuantity": {"value": Decimal("11.5"), "unit": "x10e3/uL"}}


def test_a_ucum_coded_translation_keeps_its_ucum_code() -> None:
    found = _value(
        '<value xsi:type="PQ" nullFlavor="OTH"><translation value="7.2" code="mmol/L"'
        ' codeSystem="2.16.840.1.113883.6.8"/></value>'
    )
    assert found["valueQuantity"] == {
        "value": Decimal("7.2"),
        "unit": "mmol/L",
        "system": "http://unitsofmeasure.org",
        "code": "mmol/L",
    }


def test_a_count_unit_written_only_in_a_same_valued_translation_is_kept_as_text() -> None:
    # Cerner: 30 units of insulin as unit="1" plus a translation saying "units".
    dose = _el(
        '<value value="30.0" unit="1"><translation value="30.0">'
        "<originalText>units</originalText></translation></value>"
    )
    assert quantity(dose) == {"value": Decimal("30.0"), "unit": "units"}


def test_a_translation_in_another_unit_does_not_relabel_the_value() -> None:
    weight = _el(
        '<value value="68" unit="1"><translation value="150">'
        "<originalText>lb</originalText></translation></value>"
    )
    assert quantity(weight) == {"value": Decimal("68")}


def test_a_nulled_coded_value_keeps_the_codes_of_its_translations() -> None:
    found = _value(
        '<value xsi:type="CD" nullFlavor="OTH"><translation code="260373001"'
        ' codeSystem="2.16.840.1.113883.6.96" displayName="Detected"/></value>'
    )
    assert found["valueCodeableConcept"]["coding"][0]["code"] == "260373001"


def test_a_nulled_value_without_translations_stays_empty() -> None:
    assert _value('<value xsi:type="PQ" nullFlavor="NI"/>') == {}
    assert (
        _value('<value xsi:type="CD" nullFlavor="OTH"><translation nullFlavor="NI"/></value>') == {}
    )


def test_an_interval_given_by_its_center_is_read_as_that_point_in_time() -> None:
    # The C-CDA R1.1 Companion Guide sample dates its past procedures this way.
    when = _el('<effectiveTime><center value="20060601"/></effectiveTime>')
    assert period_of(when) == {"start": "2006-06-01"}


def test_a_uuid_root_becomes_a_urn_uuid_and_an_oid_root_a_urn_oid() -> None:
    entry = _el(
        '<observation><id root="0D1159C0-FF39-483F-868A-F8A69595025B"/>'
        '<id root="2.16.840.1.113883.19" extension="123456789"/>'
        '<id root="E502C119-807D-4EF0-B6F5-D7A910303B72" extension="7"/>'
        '<id nullFlavor="NI"/></observation>'
    )
    assert identifiers(entry) == [
        {"system": "urn:ietf:rfc:3986", "value": "urn:uuid:0d1159c0-ff39-483f-868a-f8a69595025b"},
        {"system": "urn:oid:2.16.840.1.113883.19", "value": "123456789"},
        {"system": "urn:uuid:e502c119-807d-4ef0-b6f5-d7a910303b72", "value": "7"},
    ]
