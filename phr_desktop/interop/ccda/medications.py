"""C-CDA medication and immunization entries (substance administrations) as FHIR R4
MedicationStatement, Immunization and, for a planned medication, MedicationRequest dicts."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from lxml import etree

from phr_desktop.interop.ccda.statements import (
    Context,
    negated,
    nested_statements,
    resource_base,
    set_nonempty,
    statement_text,
    status_code,
    text_concept,
    titled,
)
from phr_desktop.interop.ccda.values import (
    attr,
    child,
    concept,
    decimal_of,
    effective_times,
    period_of,
    quantity,
    text_of,
    time_of,
    v,
)

# ActStatus → MedicationStatement.status, after HL7's C-CDA on FHIR ConceptMap
# CF-MedicationStatus (active, suspended, aborted, completed, nullified), plus held/cancelled.
_MED_STATUS = {
    "active": "active",
    "completed": "completed",
    "aborted": "stopped",
    "cancelled": "not-taken",
    "suspended": "on-hold",
    "held": "on-hold",
    "nullified": "entered-in-error",
}
# ActStatus → MedicationRequest.status (the same ConceptMap; R4 codes for a request).
_REQUEST_STATUS = {
    "active": "active",
    "completed": "completed",
    "aborted": "stopped",
    "cancelled": "cancelled",
    "suspended": "on-hold",
    "held": "on-hold",
    "nullified": "entered-in-error",
    "new": "draft",
}
# Moods of a medication ordered, planned or proposed rather than taken. Cerner sends these
# with statusCode "ordered" (not an ActStatus): the clinician intends the patient to take it.
_PLANNED_MOODS = frozenset({"INT", "RQO", "PRMS", "PRP", "ARQ"})
# ActMood → MedicationRequest.intent (C-CDA on FHIR, CF-MedActivityMood, and RQO an order).
_REQUEST_INTENT = {"RQO": "order", "PRP": "proposal", "ARQ": "proposal"}


def _mood(el: etree._Element) -> str:
    return (el.get("moodCode") or "").strip().upper()


def _medication_status(el: etree._Element) -> str:
    if negated(el):
        return "not-taken"
    mapped = _MED_STATUS.get((status_code(el) or "").lower())
    if mapped:
        return mapped
    return "intended" if _mood(el) in _PLANNED_MOODS else "unknown"


def _product_concept(el: etree._Element, ctx: Context) -> dict[str, Any] | None:
    material = child(el, "consumable", "manufacturedProduct", "manufacturedMaterial")
    code = concept(child(material, "code"), ctx.narrative)
    name = text_of(child(material, "name"))
    if code is None:
        return text_concept(name)
    if not code.get("text") and name:
        code["text"] = name
    return code


def medications(el: etree._Element, ctx: Context) -> Iterator[dict[str, Any]]:
    if el.tag != v("substanceAdministration"):
        for inner in nested_statements(el, "substanceAdministration"):
            yield from medications(inner, ctx)
        return
    out = resource_base("MedicationStatement", el, ctx)
    out["status"] = _medication_status(el)
    set_nonempty(
        out, "medicationCodeableConcept", _product_concept(el, ctx) or {"text": "medication"}
    )
    out["subject"] = ctx.patient_ref
    for time in effective_times(el):
        kind = (time.get("{http://www.w3.org/2001/XMLSchema-instance}type") or "").upper()
        if "PIVL" in kind or "EIVL" in kind:
            continue
        period = period_of(time)
        if period:
            out["effectivePeriod"] = period
            break
    dosage: dict[str, Any] = {}
    set_nonempty(dosage, "text", statement_text(el, ctx))
    set_nonempty(dosage, "route", concept(child(el, "routeCode"), ctx.narrative))
    set_nonempty(dosage, "timing", _frequency(el))
    dose = quantity(child(el, "doseQuantity"))
    if dose:
        dosage["doseAndRate"] = [{"doseQuantity": dose}]
    if dosage:
        out["dosage"] = [dosage]
    # When the statement was made (C-CDA on FHIR: author/time → dateAsserted), the date a
    # medication that names no period of its own is known by.
    set_nonempty(out, "dateAsserted", time_of(child(el, "author", "time")))
    yield out


# UCUM time units a PIVL_TS period may use → FHIR Timing periodUnit.
_PERIOD_UNITS = {"s": "s", "min": "min", "h": "h", "d": "d", "wk": "wk", "mo": "mo", "a": "a"}


def _frequency(el: etree._Element) -> dict[str, Any] | None:
    """A PIVL_TS ("every 8 h") as a FHIR Timing: one dose per period. Periods in words
    (`unit="PRN"`, "BEDTIME") or without a number stay in the dosage text."""
    for time in effective_times(el):
        kind = (time.get("{http://www.w3.org/2001/XMLSchema-instance}type") or "").upper()
        if "PIVL" not in kind:
            continue
        period = child(time, "period")
        value = decimal_of(attr(period, "value"))
        unit = _PERIOD_UNITS.get(attr(period, "unit") or "")
        if value is not None and value > 0 and unit:
            return {"repeat": {"frequency": 1, "period": value, "periodUnit": unit}}
    return None


def immunizations(el: etree._Element, ctx: Context) -> Iterator[dict[str, Any]]:
    if el.tag != v("substanceAdministration"):
        for inner in nested_statements(el, "substanceAdministration"):
            yield from immunizations(inner, ctx)
        return
    out = resource_base("Immunization", el, ctx)
    out["status"] = "not-done" if negated(el) else "completed"
    vaccine = titled(_product_concept(el, ctx), el, ctx) or text_concept(statement_text(el, ctx))
    set_nonempty(out, "vaccineCode", vaccine or {"text": "vaccine"})
    out["patient"] = ctx.patient_ref
    times = effective_times(el)
    when = time_of(times[0]) if times else None
    if when:
        out["occurrenceDateTime"] = when
    else:
        out["occurrenceString"] = "unknown"
    material = child(el, "consumable", "manufacturedProduct", "manufacturedMaterial")
    set_nonempty(out, "lotNumber", text_of(child(material, "lotNumberText")))
    set_nonempty(out, "route", concept(child(el, "routeCode"), ctx.narrative))
    dose = quantity(child(el, "doseQuantity"))
    set_nonempty(out, "doseQuantity", dose)
    yield out


def medication_request(el: etree._Element, ctx: Context, when: str | None) -> dict[str, Any]:
    """A medication the plan of care orders, intends or proposes, authored `when`."""
    out = resource_base("MedicationRequest", el, ctx)
    out["status"] = (
        "cancelled"
        if negated(el)
        else _REQUEST_STATUS.get((status_code(el) or "").lower(), "active")
    )
    out["intent"] = _REQUEST_INTENT.get(_mood(el), "plan")
    set_nonempty(
        out, "medicationCodeableConcept", _product_concept(el, ctx) or {"text": "medication"}
    )
    out["subject"] = ctx.patient_ref
    set_nonempty(out, "authoredOn", when)
    return out
