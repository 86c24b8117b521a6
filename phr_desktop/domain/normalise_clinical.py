"""Record fields of the patient and their care: problems, procedures, allergies, shots, visits.

Each builder returns the `Record` fields it knows, reading its resource in the order the flags
should come out (a record's flags are shown in the order they were found): the value's
numbers, then dates, then the reference range.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from phr_desktop.domain.codes import SNOMED, codes_and_display, display_of, first_of
from phr_desktop.domain.fhir_values import (
    Flags,
    as_list,
    category_codes,
    clean_text,
    encounter_class,
    path_get,
    read_date,
    reference_display,
    reference_of,
    status_of,
)
from phr_desktop.domain.records import Quantity, RecordKind

# Hot names as module constants: an import normalises a hundred thousand resources, and an
# enum member read from its class costs an attribute lookup each time.
_PATIENT, _PROBLEM = RecordKind.PATIENT, RecordKind.PROBLEM
_SURGICAL_PROCEDURE = "387713003"


def patient_fields(res: Mapping[str, Any], flags: Flags) -> dict[str, Any]:
    name = first_of(res.get("name"))
    title = None
    if isinstance(name, dict):
        given = as_list(name.get("given"))
        title = clean_text(name.get("text")) or " ".join(
            [str(g) for g in given] + ([str(name["family"])] if name.get("family") else [])
        )
    return {
        "kind": _PATIENT,
        "title": title or "Patient",
        "effective": read_date(flags, res.get("birthDate")),
        "category": "demographics",
        "status": "active" if res.get("active") is not False else "inactive",
        "facility": reference_display(res.get("managingOrganization")),
    }


def condition_fields(res: Mapping[str, Any], flags: Flags) -> dict[str, Any]:
    onset_period = res.get("onsetPeriod")
    code = res.get("code")
    if not code:
        flags.append("no code")
    codes, title = codes_and_display(code)
    return {
        "kind": _PROBLEM,
        "title": title,
        "codes": codes,
        "effective": read_date(
            flags,
            res.get("onsetDateTime"),
            onset_period.get("start") if isinstance(onset_period, dict) else None,
            res.get("recordedDate"),
        ),
        "category": categories[0] if (categories := category_codes(res)) else None,
        "status": status_of(res, "clinicalStatus"),
        "encounter_ref": reference_of(res.get("encounter")),
        "facility": reference_display(res.get("asserter")),
    }


def procedure_fields(res: Mapping[str, Any], flags: Flags) -> dict[str, Any]:
    cat_codes, cat_display = codes_and_display(res.get("category"))
    cat_text = (cat_display or "").lower()
    is_surgery = any(c.system == SNOMED and c.code == _SURGICAL_PROCEDURE for c in cat_codes)
    codes, title = codes_and_display(res.get("code"))
    return {
        "kind": RecordKind.PROCEDURE,
        "title": title,
        "codes": codes,
        "category": "surgery" if is_surgery or "surg" in cat_text else (cat_text or None),
        "effective": read_date(
            flags, res.get("performedDateTime"), path_get(res.get("performedPeriod"), "start")
        ),
        "status": clean_text(res.get("status")),
        "encounter_ref": reference_of(res.get("encounter")),
        "facility": reference_display(res.get("location")),
    }


def allergy_fields(res: Mapping[str, Any], flags: Flags) -> dict[str, Any]:
    reactions = as_list(res.get("reaction"))
    manifestations = [
        display_of(m)
        for reaction in reactions
        if isinstance(reaction, dict)
        for m in as_list(reaction.get("manifestation"))
    ]
    codes, title = codes_and_display(res.get("code"))
    category = first_of(res.get("category"))
    return {
        "kind": RecordKind.ALLERGY,
        "title": title,
        "codes": codes,
        "category": category if isinstance(category, str) else None,
        "effective": read_date(flags, res.get("onsetDateTime"), res.get("recordedDate")),
        "status": status_of(res, "clinicalStatus"),
        "interpretation": clean_text(res.get("criticality")),
        "value": Quantity(None, None, ", ".join(m for m in manifestations if m))
        if manifestations
        else None,
        "encounter_ref": reference_of(res.get("encounter")),
    }


def immunization_fields(res: Mapping[str, Any], flags: Flags) -> dict[str, Any]:
    codes, title = codes_and_display(res.get("vaccineCode"))
    return {
        "kind": RecordKind.IMMUNIZATION,
        "title": title,
        "codes": codes,
        "effective": read_date(flags, res.get("occurrenceDateTime"), res.get("recorded")),
        "status": clean_text(res.get("status")),
        "facility": reference_display(res.get("location")),
        "encounter_ref": reference_of(res.get("encounter")),
    }


def encounter_fields(res: Mapping[str, Any], flags: Flags) -> dict[str, Any]:
    class_code, class_text = encounter_class(res)
    codes, type_text = codes_and_display(first_of(res.get("type")))
    location = first_of(res.get("location"))
    return {
        "kind": RecordKind.ENCOUNTER,
        "title": type_text or class_text or "Encounter",
        "codes": codes,
        "category": class_code,
        "effective": read_date(flags, path_get(res.get("period"), "start")),
        "status": clean_text(res.get("status")),
        "facility": reference_display(res.get("serviceProvider"))
        or (reference_display(location.get("location")) if isinstance(location, dict) else None),
        "text_parts": [
            display_of(c) for c in as_list(res.get("reasonCode")) if isinstance(c, dict)
        ],
    }
