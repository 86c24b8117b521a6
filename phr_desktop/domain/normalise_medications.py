"""Record fields of medications (requested, taken, given), for `normalise`.

Each builder returns the `Record` fields it knows, reading its resource in the order the flags
should come out (a record's flags are shown in the order they were found): the value's
numbers, then dates, then the reference range.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from phr_desktop.domain.codes import codes_and_display, first_of
from phr_desktop.domain.fhir_values import (
    Flags,
    clean_text,
    path_get,
    quantity_of,
    read_date,
    reference_display,
    reference_of,
)
from phr_desktop.domain.records import Code, Quantity, RecordKind

# Hot names as module constants: an import normalises a hundred thousand resources, and an
# enum member read from its class costs an attribute lookup each time.
_MEDICATION = RecordKind.MEDICATION


def _medication_title(res: Mapping[str, Any]) -> tuple[str, tuple[Code, ...]]:
    concept = res.get("medicationCodeableConcept")
    if concept:
        codes, title = codes_and_display(concept)
        return title, codes
    return reference_display(res.get("medicationReference")) or "Medication", ()


def _medication(res: Mapping[str, Any], flags: Flags, category: str, *dates: Any) -> dict[str, Any]:
    title, codes = _medication_title(res)
    dosage = (
        first_of(res.get("dosageInstruction")) or first_of(res.get("dosage")) or res.get("dosage")
    )
    dose_text = clean_text(dosage.get("text")) if isinstance(dosage, dict) else None
    dose = None
    if isinstance(dosage, dict):
        # MedicationAdministration says dosage.dose; Request/Statement say doseAndRate[].
        rate = first_of(dosage.get("doseAndRate"))
        dose = quantity_of(dosage.get("dose"), flags) or (
            quantity_of(rate.get("doseQuantity"), flags) if isinstance(rate, dict) else None
        )
    return {
        "kind": _MEDICATION,
        "title": title,
        "codes": codes,
        "category": category,
        "effective": read_date(flags, *dates),
        "value": dose
        if dose and (dose.value is not None or dose.text)
        else (Quantity(None, None, dose_text) if dose_text else None),
        "status": clean_text(res.get("status")),
        "encounter_ref": reference_of(res.get("encounter")) or reference_of(res.get("context")),
        "facility": reference_display(res.get("requester"))
        or reference_display(first_of(res.get("performer"))),
    }


def medication_request_fields(res: Mapping[str, Any], flags: Flags) -> dict[str, Any]:
    bounds = res.get("dosageInstruction")
    start = None
    first = first_of(bounds)
    if isinstance(first, dict):
        start = path_get(first, "timing", "repeat", "boundsPeriod", "start")
    return _medication(res, flags, "request", res.get("authoredOn"), start)


def medication_statement_fields(res: Mapping[str, Any], flags: Flags) -> dict[str, Any]:
    return _medication(
        res,
        flags,
        "statement",
        res.get("effectiveDateTime"),
        path_get(res.get("effectivePeriod"), "start"),
        res.get("dateAsserted"),
    )


def medication_administration_fields(res: Mapping[str, Any], flags: Flags) -> dict[str, Any]:
    return _medication(
        res,
        flags,
        "administration",
        res.get("effectiveDateTime"),
        path_get(res.get("effectivePeriod"), "start"),
    )
