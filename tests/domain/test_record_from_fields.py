"""record_from_fields makes the very record Record(**fields) makes, faster (issue 16)."""

from __future__ import annotations

import dataclasses

import pytest

from phr_desktop.domain.records import Code, Record, RecordKind, record_from_fields


def _some_fields() -> dict[str, object]:
    return {
        "resource_type": "Observation",
        "resource_id": "o1",
        "kind": RecordKind.LAB_RESULT,
        "title": "Hemoglobin",
        "codes": (Code("http://loinc.org", "718-7", "Hemoglobin"),),
        "status": "final",
    }


def test_some_fields_given_take_the_defaults_for_the_rest() -> None:
    record = record_from_fields(_some_fields())
    assert record == Record(**_some_fields())
    assert repr(record) == repr(Record(**_some_fields()))
    assert record.tags == frozenset() and record.sensitivity == "normal"


def test_every_field_given_makes_the_same_record() -> None:
    every = {f.name: getattr(Record(**_some_fields()), f.name) for f in dataclasses.fields(Record)}
    assert record_from_fields(dict(every)) == Record(**every)


def test_the_record_stays_frozen_and_a_wrong_or_missing_field_is_refused() -> None:
    record = record_from_fields(_some_fields())
    with pytest.raises(dataclasses.FrozenInstanceError):
        record.title = "changed"
    with pytest.raises(KeyError, match="not fields"):
        record_from_fields({**_some_fields(), "colour": "red"})
    with pytest.raises(KeyError, match="needs"):
        record_from_fields({"resource_type": "Observation", "resource_id": "o1"})
