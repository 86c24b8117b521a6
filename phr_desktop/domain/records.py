"""Normalised health records: the flat, queryable shape derived from raw FHIR resources.

A `Record` is always rebuildable from its raw resource; nothing here is the source of truth.
"""

from __future__ import annotations

import re
from dataclasses import MISSING, dataclass, field, fields
from enum import StrEnum
from typing import Any

# A meta.tag of this system on a resource we made (a C-CDA's DocumentReference) carries a
# data-quality note on its source in `display`; it becomes one of the record's flags.
DATA_QUALITY_TAG_SYSTEM = "urn:phr:data-quality"


class RecordKind(StrEnum):
    """What a record is, as the patient sees it (timeline icons, filters, export sections)."""

    PATIENT = "patient"
    LAB_RESULT = "lab_result"
    IMAGING = "imaging"
    CLINICAL_NOTE = "clinical_note"
    MEDICATION = "medication"
    PROCEDURE = "procedure"
    VITAL_SIGN = "vital_sign"
    IMMUNIZATION = "immunization"
    ALLERGY = "allergy"
    PROBLEM = "problem"
    DOCUMENT = "document"
    ENCOUNTER = "encounter"


class DatePrecision(StrEnum):
    YEAR = "year"
    MONTH = "month"
    DAY = "day"
    INSTANT = "instant"


_DATE_RE = re.compile(
    r"^(?P<year>\d{4})(?:-(?P<month>\d{2})(?:-(?P<day>\d{2})"
    r"(?:T(?P<time>\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?)(?P<tz>Z|[+-]\d{2}:\d{2})?)?)?)?$"
)


@dataclass(frozen=True, slots=True)
class PartialDate:
    """A FHIR date/dateTime/instant kept with the precision the source gave.

    `text` is exactly what the source said; `sort_key` orders dates of mixed precision
    (a bare year sorts at its start, so "2015" comes before "2015-03-04").
    """

    text: str
    precision: DatePrecision

    @property
    def sort_key(self) -> str:
        return self.text[:19] if self.precision is DatePrecision.INSTANT else self.text

    @property
    def year(self) -> int:
        return int(self.text[:4])

    @property
    def month(self) -> int | None:
        return int(self.text[5:7]) if self.precision is not DatePrecision.YEAR else None

    @property
    def day_text(self) -> str | None:
        """`YYYY-MM-DD` when the date is at least day-precise."""
        if self.precision in (DatePrecision.DAY, DatePrecision.INSTANT):
            return self.text[:10]
        return None


# Dates parsed, by their text: the results and notes of one visit share its moment, so an
# import parses the same text many times. Bounded, and cleared when full.
_PARSED_DATES: dict[str, PartialDate | None] = {}
_PARSED_DATES_KEPT = 20_000


def parse_partial_date(value: object) -> PartialDate | None:
    """Parse a FHIR date-like string; None when it is missing or not a valid FHIR date."""
    if type(value) is not str:
        return _parse_partial_date(value)
    try:
        return _PARSED_DATES[value]
    except KeyError:
        pass
    parsed = _parse_partial_date(value)
    if len(_PARSED_DATES) >= _PARSED_DATES_KEPT:
        _PARSED_DATES.clear()
    _PARSED_DATES[value] = parsed
    return parsed


def _parse_partial_date(value: object) -> PartialDate | None:
    if not isinstance(value, str):
        return None
    match = _DATE_RE.match(value.strip())
    if not match:
        return None
    text = value.strip()
    month, day = match["month"], match["day"]
    if month is not None and not 1 <= int(month) <= 12:
        return None
    if day is not None and not 1 <= int(day) <= 31:
        return None
    if match["time"]:
        precision = DatePrecision.INSTANT
    elif day:
        precision = DatePrecision.DAY
    elif month:
        precision = DatePrecision.MONTH
    else:
        precision = DatePrecision.YEAR
    return PartialDate(text=text, precision=precision)


@dataclass(frozen=True, slots=True)
class Code:
    """One coding: system URI, code, display text (any may be missing in real data)."""

    system: str | None
    code: str | None
    display: str | None = None


@dataclass(frozen=True, slots=True)
class Quantity:
    value: float | None
    unit: str | None = None
    text: str | None = None  # a value that is not numeric ("Pi*ZZ", "positive", "<5")


@dataclass(frozen=True, slots=True)
class ReferenceRange:
    low: float | None = None
    high: float | None = None
    text: str | None = None


@dataclass(frozen=True)
class Record:
    """The normalised view of one raw resource."""

    resource_type: str
    resource_id: str
    kind: RecordKind
    title: str
    category: str | None = None
    effective: PartialDate | None = None
    value: Quantity | None = None
    reference_range: ReferenceRange | None = None
    interpretation: str | None = None
    codes: tuple[Code, ...] = ()
    tags: frozenset[str] = field(default_factory=frozenset)
    status: str | None = None
    source_system: str | None = None
    facility: str | None = None
    encounter_ref: str | None = None
    text: str = ""  # searchable free text: notes, conclusions, document text
    quality: tuple[str, ...] = ()  # data-quality flags; empty means nothing odd was seen
    # As the source marked it (domain/sensitivity.py); the patient's own label may override.
    sensitivity: str = "normal"

    def has_code(self, system: str, code: str) -> bool:
        return any(c.system == system and c.code == code for c in self.codes)


# Record(**fields) sets each of its 18 fields through object.__setattr__ (a frozen dataclass):
# ~3 µs, which an import pays for every resource. The normaliser builds its fields in a dict
# anyway, so it makes the record from that dict in one step.
_RECORD_DEFAULTS: dict[str, Any] = {
    f.name: f.default if f.default_factory is MISSING else f.default_factory()
    for f in fields(Record)
    if f.default is not MISSING or f.default_factory is not MISSING
}
_RECORD_FIELDS = frozenset(f.name for f in fields(Record))
_FIELD_COUNT = len(_RECORD_FIELDS)
assert not hasattr(Record, "__post_init__"), "record_from_fields would skip __post_init__"


def record_from_fields(values: dict[str, Any]) -> Record:
    """`Record(**values)`, the same record, made faster. `values` must name every field
    without a default and nothing else (KeyError otherwise). When it names every field the
    record takes it over as its own state: the caller must not change it afterwards."""
    if not _RECORD_FIELDS.issuperset(values):
        raise KeyError(f"not fields of a Record: {sorted(set(values) - _RECORD_FIELDS)}")
    record = object.__new__(Record)
    if len(values) == _FIELD_COUNT:  # a result's fields, all named: nothing to copy
        object.__setattr__(record, "__dict__", values)
        return record
    state = record.__dict__
    state.update(_RECORD_DEFAULTS)
    state.update(values)
    if len(state) != _FIELD_COUNT:
        missing = sorted(_RECORD_FIELDS - set(state))
        raise KeyError(f"a Record needs {missing}")
    return record
