"""When two records are the same fact: the rules of issue 13, on normalised records."""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal

from phr_desktop.domain.records import (
    Code,
    PartialDate,
    Quantity,
    Record,
    RecordKind,
    parse_partial_date,
)
from phr_desktop.domain.same_fact import fact_key, identifier_key, same_moment

HGB_LOINC = Code("http://loinc.org", "718-7", "Hemoglobin")
HGB_OID = Code("urn:oid:2.16.840.1.113883.6.1", "718-7", "HGB")


def _date(text: str) -> PartialDate:
    found = parse_partial_date(text)
    assert found is not None
    return found


def _lab(when: str, value: float, unit: str, *codes: Code) -> Record:
    return Record(
        "Observation", "x", RecordKind.LAB_RESULT, "Hemoglobin",
        effective=_date(when), value=Quantity(value, unit), codes=codes or (HGB_LOINC,),
    )  # fmt: skip


def test_a_lab_coded_by_oid_in_one_source_and_by_uri_in_another_is_one_fact() -> None:
    a = _lab("2020-01-02T10:15:00Z", 13.2, "g/dL", HGB_LOINC)
    b = _lab("2020-01-02T10:15:30Z", 13.2, "G/DL", HGB_OID, Code("urn:local", "HB"))
    assert fact_key(a) == fact_key(b) is not None


def test_another_value_unit_or_day_is_another_fact() -> None:
    base = _lab("2020-01-02", 13.2, "g/dL")
    assert fact_key(base) != fact_key(_lab("2020-01-02", 13.3, "g/dL"))
    assert fact_key(base) != fact_key(_lab("2020-01-02", 13.2, "g/L"))
    assert fact_key(base) != fact_key(_lab("2020-01-03", 13.2, "g/dL"))


def test_time_is_compared_to_the_minute_and_a_day_alone_matches_any_time_that_day() -> None:
    assert same_moment("2020-01-02T10:15:00Z", "instant", "2020-01-02T05:15:59-05:00", "instant")
    assert not same_moment("2020-01-02T10:15:00Z", "instant", "2020-01-02T10:16:00Z", "instant")
    assert same_moment("2020-01-02", "day", "2020-01-02T10:16:00Z", "instant")


def test_problems_and_allergies_are_one_fact_per_code_whenever_recorded() -> None:
    problem = Record(
        "Condition", "c1", RecordKind.PROBLEM, "Hypertension",
        effective=_date("2015-03-01"), codes=(Code("http://snomed.info/sct", "59621000"),),
    )  # fmt: skip
    later = replace(problem, resource_id="c2", effective=_date("2019-11-20"), title="HTN")
    assert fact_key(problem) == fact_key(later) is not None


def test_records_without_a_shared_coding_or_a_day_are_never_merged() -> None:
    uncoded = _lab("2020-01-02", 13.2, "g/dL", Code(None, None, "Hemoglobin"))
    assert fact_key(uncoded) is None
    assert fact_key(_lab("2020", 13.2, "g/dL")) is None
    note = Record("DocumentReference", "d", RecordKind.DOCUMENT, "Letter")
    assert fact_key(note) is None


def test_an_encounter_is_one_fact_by_the_same_identifier_from_the_same_system() -> None:
    visit = {"identifier": [{"system": "urn:oid:1.2.3", "value": "V-17"}, {"value": "no-system"}]}
    again = {"identifier": [{"value": "V-17", "system": "urn:oid:1.2.3"}]}
    other_system = {"identifier": [{"system": "urn:oid:9.9", "value": "V-17"}]}
    assert identifier_key("Encounter", visit) == identifier_key("Encounter", again) is not None
    assert identifier_key("Encounter", visit) != identifier_key("Encounter", other_system)
    assert identifier_key("Encounter", {"identifier": [{"value": "V-17"}]}) is None


def test_an_identifier_that_is_not_a_list_is_no_identifier_and_no_crash() -> None:
    """A server's number or flag where the identifiers belong once stopped the whole file's
    import with a TypeError; the resource is kept and shown, never merged by identifier."""
    for odd in (5, 2.5, True, Decimal("1.5"), {"system": "urn:oid:1.2.3", "value": "V-17"}, "V"):
        assert identifier_key("Encounter", {"identifier": odd}) is None
