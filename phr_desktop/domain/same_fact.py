"""When two records are the same fact from different sources or files. Pure rules, no I/O.

A record's *fact key* holds what must be equal for two records to be one fact: the kind, one
shared coding (the preferred system's), the day, and the value and unit after normalisation;
medications by RxNorm and start; problems and allergies by code alone; every Patient (each
was checked to be the profile's person) is one. Records with equal keys are then compared on
time (`same_moment`): to the minute, or to the day where one side has only a day. Records no
content rule names (encounters, documents) are one fact when they carry the same identifier
from the same system, or are byte for byte the same resource; otherwise never merged. A
problem or allergy that one file or one connection lists twice is two entries (two
exacerbations).
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from phr_desktop.domain.records import Code, DatePrecision, Record, RecordKind

LOINC = "http://loinc.org"
SNOMED = "http://snomed.info/sct"
RXNORM = "http://www.nlm.nih.gov/research/umls/rxnorm"
CVX = "http://hl7.org/fhir/sid/cvx"
ICD10 = "http://hl7.org/fhir/sid/icd-10-cm"
CPT = "http://www.ama-assn.org/go/cpt"
# Code systems by OID (C-CDA) and by URI (FHIR) are the same system.
_SYSTEM_ALIASES = {
    "urn:oid:2.16.840.1.113883.6.1": LOINC,
    "urn:oid:2.16.840.1.113883.6.96": SNOMED,
    "urn:oid:2.16.840.1.113883.6.88": RXNORM,
    "urn:oid:2.16.840.1.113883.12.292": CVX,
    "urn:oid:2.16.840.1.113883.6.90": ICD10,
    "urn:oid:2.16.840.1.113883.6.12": CPT,
}
# Which system names a fact, per kind, in order of preference: both sources must code it in
# the first system either of them has, so the key takes the best one present.
_PREFERRED = {
    RecordKind.LAB_RESULT: (LOINC, SNOMED),
    RecordKind.VITAL_SIGN: (LOINC, SNOMED),
    RecordKind.IMAGING: (LOINC, SNOMED, CPT),
    RecordKind.MEDICATION: (RXNORM,),
    RecordKind.PROBLEM: (SNOMED, ICD10),
    RecordKind.ALLERGY: (RXNORM, SNOMED),
    RecordKind.IMMUNIZATION: (CVX,),
    RecordKind.PROCEDURE: (SNOMED, CPT, LOINC),
}
# Kinds whose fact is the code alone, whenever it was recorded.
_TIMELESS = frozenset({RecordKind.PROBLEM, RecordKind.ALLERGY})
TIMELESS_KINDS = frozenset(kind.value for kind in _TIMELESS)
_UNIT_SPACES = re.compile(r"\s+")
_UNIT_SAME = {"µ": "u", "μ": "u", "[iu]": "iu", "10*3": "10^3", "10*9": "10^9", "/ul": "/ul"}


def canonical_system(system: str | None) -> str:
    text = (system or "").strip()
    return _SYSTEM_ALIASES.get(text, text.rstrip("/"))


def _find_preferred_code(kind: RecordKind, codes: tuple[Code, ...]) -> tuple[str, str] | None:
    present = {
        (canonical_system(c.system), c.code.strip())
        for c in codes
        if c.code and c.code.strip() and c.system
    }
    for system in _PREFERRED.get(kind, ()):
        found = sorted(code for s, code in present if s == system)
        if found:
            return system, found[0]
    return None


# The start of a fact key ("kind|system|code", from the preferred code), or None, per kind, by
# the codes tuple's identity: the normaliser shares one tuple among every record of a concept
# (codes_and_display), and each entry keeps its tuple alive, so an id is never reused while
# it is here. Bounded, cleared when full.
_KEY_STARTS: dict[int, tuple[tuple[Code, ...], dict[RecordKind, str | None]]] = {}
_KEY_STARTS_KEPT = 20_000


def _read_key_start(kind: RecordKind, codes: tuple[Code, ...]) -> str | None:
    coded = _find_preferred_code(kind, codes)
    return None if coded is None else f"{kind._value_}|{coded[0]}|{coded[1]}"


def _key_start(kind: RecordKind, codes: tuple[Code, ...]) -> str | None:
    if type(codes) is not tuple:  # a list could change after it was remembered
        return _read_key_start(kind, codes)
    entry = _KEY_STARTS.get(id(codes))
    if entry is None or entry[0] is not codes:
        if len(_KEY_STARTS) >= _KEY_STARTS_KEPT:
            _KEY_STARTS.clear()
        entry = _KEY_STARTS[id(codes)] = (codes, {})
    by_kind = entry[1]
    try:
        return by_kind[kind]
    except KeyError:
        start = by_kind[kind] = _read_key_start(kind, codes)
        return start


def _normalise_unit(unit: str | None) -> str:
    text = _UNIT_SPACES.sub("", (unit or "").casefold())
    text = re.sub(r"\{[^}]*\}", "", text)
    for old, new in _UNIT_SAME.items():
        text = text.replace(old, new)
    return text


_UNITS: dict[str | None, str] = {}  # by what the source wrote: a few hundred units in all
_UNITS_KEPT = 5_000


def normalise_unit(unit: str | None) -> str:
    """'mg/dL', 'MG/DL', 'mg / dl' are one unit; UCUM annotations like '{cells}' say nothing."""
    if unit is not None and type(unit) is not str:
        return _normalise_unit(unit)
    found = _UNITS.get(unit)
    if found is None:
        if len(_UNITS) >= _UNITS_KEPT:
            _UNITS.clear()
        found = _UNITS[unit] = _normalise_unit(unit)
    return found


def _value_part(record: Record) -> str:
    value = record.value
    if value is None:
        return ""
    if value.value is not None:
        return f"{value.value:.6g} {normalise_unit(value.unit)}"
    return (value.text or "").strip().casefold()


_PATIENT, _PROBLEM, _ALLERGY = RecordKind.PATIENT, RecordKind.PROBLEM, RecordKind.ALLERGY
_DAY, _INSTANT = DatePrecision.DAY, DatePrecision.INSTANT


def fact_key(record: Record) -> str | None:
    """What two records must share to be one fact, or None for a record never merged."""
    kind = record.kind
    if kind is _PATIENT:
        # Every Patient a profile keeps was checked to be its one person: one record.
        return "patient"
    start = _key_start(kind, record.codes)  # "kind|system|code"
    if start is None:
        return None
    if kind is _PROBLEM or kind is _ALLERGY:  # _TIMELESS
        return start
    effective = record.effective
    if effective is None:
        return None
    precision = effective.precision
    if precision is not _DAY and precision is not _INSTANT:
        return None  # "some time in 2015" cannot tell two results apart
    day = effective.text[:10]  # effective.day_text
    return f"{start}|{day}|{_value_part(record)}"


def identifier_key(resource_type: str, resource: Mapping[str, Any]) -> str | None:
    """For a record no content rule names (an encounter, a document): the same identifier from
    the same system is the same fact. The smallest (system, value) pair, so both sides pick
    the same one."""
    identifiers = resource.get("identifier")
    if not identifiers or not isinstance(identifiers, list):  # a number there once crashed
        return None
    pairs = sorted(
        (str(i["system"]).strip(), str(i["value"]).strip())
        for i in identifiers
        if isinstance(i, Mapping) and i.get("system") and i.get("value")
    )
    return f"id|{resource_type}|{pairs[0][0]}|{pairs[0][1]}" if pairs else None


def same_content_key(resource_type: str, sha256: str) -> str:
    """For a record no rule above names: the same resource byte for byte (the same file
    imported under two sources, a server's copy of what we uploaded) is one fact."""
    return f"raw|{resource_type}|{sha256}"


def fact_hash(key: str) -> int:
    """A 64-bit signed integer for the key: a small index, and collisions are checked by
    comparing the records themselves (same_moment) only between equal keys."""
    return _from_bytes(_blake2b(key.encode(), digest_size=8).digest(), "big", signed=True)


_blake2b, _from_bytes = hashlib.blake2b, int.from_bytes


def same_moment(
    a_text: str | None, a_precision: str | None, b_text: str | None, b_precision: str | None
) -> bool:
    """Same minute, or the same day when either side gives only a day (keys share the day)."""
    a_minute = moment_minute(a_text, a_precision)
    b_minute = moment_minute(b_text, b_precision)
    return a_minute is None or b_minute is None or a_minute == b_minute


def moment_minute(text: str | None, precision: str | None) -> str | None:
    """What `same_moment` compares of one side: its minute in UTC, or None when it gives only
    a day (then it is the same moment as anything of that day). Worked out once per record,
    it makes each comparison a string compare."""
    if precision != DatePrecision.INSTANT.value:
        return None
    return _minute(text or "")


def _minute(text: str) -> str:
    """The minute, in UTC where the source gave an offset ("10:00-05:00" is "15:00Z")."""
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return text[:16]
    if moment.tzinfo is not None:
        moment = moment.astimezone(UTC)
    return moment.isoformat()[:16]
