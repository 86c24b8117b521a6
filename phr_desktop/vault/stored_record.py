"""A records row read back as a StoredRecord: the columns read, and the record built from them
without the dataclass constructor (for speed), sharing repeated strings and parsed code lists."""

from __future__ import annotations

import sys
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import orjson

from phr_desktop.domain.records import (
    Code,
    DatePrecision,
    PartialDate,
    Quantity,
    Record,
    RecordKind,
    ReferenceRange,
)
from phr_desktop.vault.sensitivity import SENSITIVITY_SQL

STORED_COLUMNS = (
    "r.id, r.resource_type, r.resource_id, r.kind, r.category, r.title, r.effective, "
    "r.precision, r.value_num, r.value_text, r.unit, r.ref_low, r.ref_high, r.ref_text, "
    "r.interpretation, r.codes, r.status, r.source_system, r.facility, r.encounter_ref, "
    "r.quality, (SELECT group_concat(tag, ' ') FROM record_tags t WHERE t.record_id = r.id), "
    f"{SENSITIVITY_SQL}, r.source_sensitivity"
)
# The same columns without the tags: the exports never show or test a record's tags, and the
# per-row tags subquery was a tenth of a 74k-record PDF's reading (issue 16).
STORED_COLUMNS_NO_TAGS = STORED_COLUMNS.replace(
    "(SELECT group_concat(tag, ' ') FROM record_tags t WHERE t.record_id = r.id)", "NULL"
)
assert STORED_COLUMNS_NO_TAGS != STORED_COLUMNS


@dataclass(frozen=True)
class StoredRecord:
    id: int
    record: Record
    # As it applies: the patient's own label, else what the source said (record.sensitivity).
    sensitivity: str = "normal"


def _shared(text: Any) -> Any:
    """One string object for each repeated value (a source's name, a LOINC system, a title):
    125k Synthea records hold few distinct ones, and sharing them took the records' memory
    from 199 MB to 120 MB. Anything but a string is returned as it is."""
    return sys.intern(text) if type(text) is str else text


# Records repeat a few code lists and flag lists (every result of one test carries the same
# codes): each distinct JSON text is parsed once and its tuple shared. Bounded, so a vault of
# mostly distinct codes does not keep them all.
_PARSED_LIMIT = 20_000
_codes_parsed: dict[str, tuple[Code, ...]] = {}
_quality_parsed: dict[str, tuple[str, ...]] = {}
# The enums by value: a dict lookup, where calling the enum class costs a microsecond each.
_KINDS = {k.value: k for k in RecordKind}
_PRECISIONS = {p.value: p for p in DatePrecision}


def parsed_codes(text: str) -> tuple[Code, ...]:
    codes = _codes_parsed.get(text)
    if codes is None:
        if len(_codes_parsed) > _PARSED_LIMIT:
            _codes_parsed.clear()
        codes = _codes_parsed[text] = tuple(Code(*map(_shared, c)) for c in orjson.loads(text))
    return codes


def parsed_quality(text: str) -> tuple[str, ...]:
    quality = _quality_parsed.get(text)
    if quality is None:
        if len(_quality_parsed) > _PARSED_LIMIT:
            _quality_parsed.clear()
        quality = _quality_parsed[text] = tuple(orjson.loads(text))
    return quality


def _new_record(**values: Any) -> Record:
    """Record(**values), every field given, without the frozen dataclass's __init__: it sets
    each of its 19 fields through object.__setattr__, 0.4 s of CPU for the 74k records of a
    full PDF export (issue 16). The record is the same (tests/vault/test_record_rows.py)."""
    record = object.__new__(Record)
    record.__dict__.update(values)
    return record


def record_from_row(row: Sequence[Any]) -> StoredRecord:
    (
        rid,
        rtype,
        res_id,
        kind,
        category,
        title,
        effective,
        precision,
        value_num,
        value_text,
        unit,
        ref_low,
        ref_high,
        ref_text,
        interpretation,
        codes,
        status,
        source_system,
        facility,
        encounter_ref,
        quality,
        tags,
        sensitivity,
        source_sensitivity,
    ) = row
    value = (
        Quantity(value_num, _shared(unit), _shared(value_text))
        if value_num is not None or value_text is not None
        else None
    )
    ref = (
        ReferenceRange(ref_low, ref_high, ref_text)
        if ref_low is not None or ref_high is not None or ref_text
        else None
    )
    record = _new_record(
        resource_type=_shared(rtype),
        resource_id=res_id,
        kind=_KINDS.get(kind) or RecordKind(kind),
        title=_shared(title),
        category=_shared(category),
        effective=(
            PartialDate(effective, _PRECISIONS.get(precision) or DatePrecision(precision))
            if effective
            else None
        ),
        value=value,
        reference_range=ref,
        interpretation=_shared(interpretation),
        codes=parsed_codes(codes),
        tags=frozenset(tags.split()) if tags else frozenset(),
        status=_shared(status),
        source_system=_shared(source_system),
        facility=_shared(facility),
        encounter_ref=_shared(encounter_ref),
        text="",  # not a column read here: a record read back has none, as with the constructor
        quality=parsed_quality(quality),
        sensitivity=source_sensitivity,
    )
    return StoredRecord(rid, record, sensitivity)
