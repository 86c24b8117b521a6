"""Record fields of results (an Observation, a DiagnosticReport), for `normalise`.

Each builder returns the `Record` fields it knows, reading its resource in the order the flags
should come out (a record's flags are shown in the order they were found): the value's
numbers, then dates, then the reference range.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from phr_desktop.domain.codes import codes_and_display, concept_key, first_of
from phr_desktop.domain.fhir_values import (
    Flags,
    attachment_text,
    category_codes,
    category_words,
    clean_text,
    observation_value,
    path_get,
    read_date,
    reference_display,
    reference_of,
    reference_range,
)
from phr_desktop.domain.records import Code, Quantity, RecordKind

# Hot names as module constants: an import normalises a hundred thousand resources, and an
# enum member read from its class costs an attribute lookup each time.
_LAB, _VITAL, _IMAGING = RecordKind.LAB_RESULT, RecordKind.VITAL_SIGN, RecordKind.IMAGING
_NOTE = RecordKind.CLINICAL_NOTE
_NOTE_OBSERVATIONS = frozenset({"social-history", "survey", "activity", "therapy"})
_IMAGING_REPORTS = frozenset({"rad", "lp29684-5", "imaging", "radiology"})
_LAB_REPORTS = frozenset({"lab", "laboratory", "hm", "ch"})


# What a result's concepts say (its kind, category, codes, title, interpretation), by their
# JSON text together: an import's hundred thousand results name a few thousand combinations,
# so one C call and one lookup stand for reading three concepts. (Only what is read of text,
# objects and lists is kept here: orjson writes a NaN as null, so two keys may differ in a
# value that is neither, which these readings take for absent.)
ObservationConcepts = tuple[RecordKind, str | None, tuple[Code, ...], str, str | None]
_OBSERVATION_CONCEPTS: dict[bytes, ObservationConcepts] = {}
_OBSERVATION_CONCEPTS_KEPT = 20_000


def _read_observation_concepts(
    category: Any, code: Any, interpretation: Any
) -> ObservationConcepts:
    categories = category_words(category)
    if "vital-signs" in categories:
        kind = _VITAL
    elif "imaging" in categories:
        kind = _IMAGING
    elif not _NOTE_OBSERVATIONS.isdisjoint(categories):
        kind = _NOTE
    else:
        kind = _LAB
    interp_codes, interp_text = codes_and_display(first_of(interpretation))
    codes, title = codes_and_display(code)
    return (
        kind,
        categories[0] if categories else None,
        codes,
        title,
        (interp_codes[0].code if interp_codes and interp_codes[0].code else None)
        or (interp_text or None),
    )


def _observation_concepts(res: Mapping[str, Any]) -> ObservationConcepts:
    parts = (res.get("category"), res.get("code"), res.get("interpretation"))
    key = concept_key(parts)
    found = _OBSERVATION_CONCEPTS.get(key) if key is not None else None
    if found is None:
        found = _read_observation_concepts(*parts)
        if key is not None:
            if len(_OBSERVATION_CONCEPTS) >= _OBSERVATION_CONCEPTS_KEPT:
                _OBSERVATION_CONCEPTS.clear()
            _OBSERVATION_CONCEPTS[key] = found
    return found


def observation_fields(res: Mapping[str, Any], flags: Flags) -> dict[str, Any]:
    kind, category, codes, title, interpretation = _observation_concepts(res)
    if not res.get("code"):
        flags.append("no code")
    value = observation_value(res, flags)
    ranges = res.get("referenceRange")
    period = res.get("effectivePeriod")
    effective = read_date(
        flags,
        res.get("effectiveDateTime"),
        period.get("start") if isinstance(period, dict) else None,  # path_get, inlined
        res.get("effectiveInstant"),
        res.get("issued"),
    )
    return {
        "kind": kind,
        "title": title,
        "codes": codes,
        "category": category,
        "effective": effective,
        "value": value,
        "reference_range": reference_range(ranges, flags) if ranges is not None else None,
        "interpretation": interpretation,
        "status": clean_text(res.get("status")),
        "encounter_ref": reference_of(res.get("encounter")),
        "facility": reference_display(first_of(res.get("performer"))),
        "text_parts": [value.text] if value and value.text and kind is _NOTE else None,
    }


def diagnostic_report_fields(res: Mapping[str, Any], flags: Flags) -> dict[str, Any]:
    categories = category_codes(res)
    if not _IMAGING_REPORTS.isdisjoint(categories):
        kind = _IMAGING
    elif not _LAB_REPORTS.isdisjoint(categories) or not categories:
        kind = _LAB
    else:
        kind = _NOTE
    forms = res.get("presentedForm")
    conclusion = clean_text(res.get("conclusion"))
    text_parts = [conclusion or ""]
    text_parts += [attachment_text(a) for a in forms] if isinstance(forms, list) else []
    codes, title = codes_and_display(res.get("code"))
    return {
        "kind": kind,
        "title": title,
        "codes": codes,
        "category": categories[0] if categories else None,
        "effective": read_date(
            flags,
            res.get("effectiveDateTime"),
            path_get(res.get("effectivePeriod"), "start"),
            res.get("issued"),
        ),
        "status": clean_text(res.get("status")),
        "encounter_ref": reference_of(res.get("encounter")),
        "facility": reference_display(first_of(res.get("performer"))),
        "value": Quantity(None, None, conclusion) if res.get("conclusion") else None,
        "text_parts": text_parts,
    }
