"""C-CDA R2.1 Medication and Immunization Activities (substance administrations) for the CCD.

Each builder writes one record under an `<entry>`, pointing at its narrative row; the dose,
route and frequency come from the record's raw FHIR dosage, which the importer stores as a list.
"""

from __future__ import annotations

from typing import Any

from lxml import etree

from phr_desktop.domain.codes import codes_of, display_of, first_of
from phr_desktop.interop.ccda.export_entries import (
    R20,
    R21,
    author_participation,
    entry_id,
    fhir_period,
    text_ref,
)
from phr_desktop.interop.ccda.export_values import (
    coded,
    number_text,
    quantity_attrs,
    sub,
    template,
    time_element,
)
from phr_desktop.interop.export_data import ExportRecord

# MedicationStatement/Request.status → ActStatus, the inverse of the importer's (HL7's C-CDA on
# FHIR ConceptMap CF-MedicationStatus); "not-taken" is said by negationInd instead.
_MEDICATION_STATUS = {
    "active": "active",
    # ActStatus "new": in preparation, not yet acted on (the importer reads INT + new back as
    # "intended", as it reads Cerner's "ordered").
    "intended": "new",
    "in-progress": "active",
    "completed": "completed",
    "not-taken": "completed",
    "stopped": "aborted",
    "on-hold": "suspended",
    "entered-in-error": "nullified",
    "cancelled": "cancelled",
    "draft": "new",
}
# FHIR Timing periodUnit → UCUM, for the frequency's PIVL_TS period.
_PERIOD_UNITS = {"s": "s", "min": "min", "h": "h", "d": "d", "wk": "wk", "mo": "mo", "a": "a"}


def medication_entry(entry: etree._Element, rec: ExportRecord, ref: str) -> None:
    raw, record = rec.raw, rec.record
    request = record.resource_type == "MedicationRequest"
    start, end = fhir_period(raw, "effectivePeriod", "effectiveDateTime")
    dosage = _dosage(raw)
    if request:
        # authoredOn, when it was ordered, goes out as the author's time below: a reader dates
        # the order by it, as this app does. The prescription ends when its validity does.
        validity = (raw.get("dispenseRequest") or {}).get("validityPeriod")
        end = fhir_period({"v": validity}, "v")[1] if validity else None
        start = None
    status = record.status or ""
    # A statement the patient only intends to take goes back as the intent it came in as.
    planned = request or status == "intended"
    med = sub(
        entry,
        "substanceAdministration",
        classCode="SBADM",
        moodCode="INT" if planned else "EVN",
        negationInd="true" if status == "not-taken" else None,
    )
    template(med, "2.16.840.1.113883.10.20.22.4.16")
    template(med, "2.16.840.1.113883.10.20.22.4.16", R20)
    entry_id(med, rec)
    text_ref(med, ref)
    code = _MEDICATION_STATUS.get(status)
    # "unknown" stays unknown: a nullFlavor, not a status the source never gave.
    sub(med, "statusCode", code=code, nullFlavor=None if code else "UNK")
    time_element(med, "effectiveTime", start, end, xsi_type="IVL_TS")
    _frequency(med, dosage)
    route = dosage.get("route")
    if isinstance(route, dict) and codes_of(route):
        coded(med, "routeCode", codes_of(route), display_of(route) or None)
    _dose(med, dosage)
    product = sub(sub(med, "consumable"), "manufacturedProduct", classCode="MANU")
    template(product, "2.16.840.1.113883.10.20.22.4.23")
    template(product, "2.16.840.1.113883.10.20.22.4.23", R20)
    material = sub(product, "manufacturedMaterial")
    coded(material, "code", record.codes, record.title)
    asserted = raw.get("authoredOn") if request else raw.get("dateAsserted")
    author_participation(med, asserted)


def _dosage(raw: dict[str, Any]) -> dict[str, Any]:
    """The first Dosage: MedicationStatement.dosage and MedicationRequest.dosageInstruction are
    lists (the importer writes `dosage: [...]`); MedicationAdministration.dosage is one."""
    for name in ("dosage", "dosageInstruction"):
        value = raw.get(name)
        found = first_of(value) if isinstance(value, list) else value
        if isinstance(found, dict):
            return found
    return {}


def _dose(med: etree._Element, dosage: dict[str, Any]) -> None:
    dose = dosage.get("dose")  # MedicationAdministration
    if not isinstance(dose, dict):
        rate = first_of(dosage.get("doseAndRate"))
        dose = rate.get("doseQuantity") if isinstance(rate, dict) else None
    attrs = quantity_attrs(dose) if isinstance(dose, dict) else None
    # C-CDA R2.1 requires a doseQuantity (CONF:1098-7516); a dose given only in words stays in
    # the narrative.
    sub(med, "doseQuantity", **(attrs or {"nullFlavor": "UNK"}))


def _frequency(med: etree._Element, dosage: dict[str, Any]) -> None:
    """ "Every 8 hours" / "3 times a day" as a PIVL_TS: one dose each period/frequency."""
    repeat = (dosage.get("timing") or {}).get("repeat") or {}
    if not isinstance(repeat, dict):
        return
    period, unit = repeat.get("period"), _PERIOD_UNITS.get(str(repeat.get("periodUnit")))
    frequency = repeat.get("frequency") or 1
    if not isinstance(period, int | float) or not isinstance(frequency, int) or not unit:
        return
    if isinstance(period, bool) or period <= 0 or frequency <= 0:
        return
    every = number_text(period / frequency)
    if every is None:
        return
    pivl = sub(med, "effectiveTime", xsi_type="PIVL_TS", institutionSpecified="true",
               operator="A")  # fmt: skip
    sub(pivl, "period", value=every, unit=unit)


def immunization_entry(entry: etree._Element, rec: ExportRecord, ref: str) -> None:
    raw, record = rec.raw, rec.record
    not_done = record.status == "not-done"
    imm = sub(
        entry,
        "substanceAdministration",
        classCode="SBADM",
        moodCode="EVN",
        negationInd="true" if not_done else "false",
    )
    template(imm, "2.16.840.1.113883.10.20.22.4.52")
    template(imm, "2.16.840.1.113883.10.20.22.4.52", R21)
    entry_id(imm, rec)
    text_ref(imm, ref)
    sub(imm, "statusCode", code="completed")
    time_element(imm, "effectiveTime", record.effective, interval=False)
    route = raw.get("route")
    if isinstance(route, dict) and codes_of(route):
        coded(imm, "routeCode", codes_of(route), display_of(route) or None)
    attrs = (
        quantity_attrs(raw["doseQuantity"]) if isinstance(raw.get("doseQuantity"), dict) else None
    )
    if attrs:
        sub(imm, "doseQuantity", **attrs)
    product = sub(sub(imm, "consumable"), "manufacturedProduct", classCode="MANU")
    template(product, "2.16.840.1.113883.10.20.22.4.54")
    template(product, "2.16.840.1.113883.10.20.22.4.54", R20)
    material = sub(product, "manufacturedMaterial")
    coded(material, "code", record.codes, record.title)
    lot = raw.get("lotNumber")
    if isinstance(lot, str) and lot:
        sub(material, "lotNumberText", lot)


__all__ = ["immunization_entry", "medication_entry"]
