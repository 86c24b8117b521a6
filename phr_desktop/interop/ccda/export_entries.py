"""C-CDA R2.1 entry templates, one builder per record kind, each pointing at its narrative row.

Each builder writes the clinical statement under an `<entry>` and returns nothing; the record's
raw FHIR resource supplies what the normalised record does not keep (components, ranges, lots).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from lxml import etree

from phr_desktop.domain.codes import codes_of, display_of, first_of
from phr_desktop.domain.records import parse_partial_date
from phr_desktop.interop.ccda.export_values import (
    ACT_CODE_OID,
    SNOMED_OID,
    coded,
    quantity_attrs,
    stable_uid,
    sub,
    template,
    time_element,
)
from phr_desktop.interop.export_data import ExportRecord

R21 = "2015-08-01"
R20 = "2014-06-09"

EntryBuilder = Callable[[etree._Element, ExportRecord, str], None]


def entry_id(parent: etree._Element, rec: ExportRecord, suffix: str = "") -> None:
    source = rec.record.source_system or "phr-desktop"
    sub(
        parent,
        "id",
        root=stable_uid("source", source),
        extension=f"{rec.record.resource_type}/{rec.record.resource_id}{suffix}",
    )


def text_ref(parent: etree._Element, ref: str) -> None:
    sub(sub(parent, "text"), "reference", value=f"#{ref}")


def fhir_period(raw: dict[str, Any], *names: str) -> tuple[Any, Any]:
    for name in names:
        value = raw.get(name)
        if isinstance(value, dict):
            return parse_partial_date(value.get("start")), parse_partial_date(value.get("end"))
        if isinstance(value, str):
            return parse_partial_date(value), None
    return None, None


# --- problems ------------------------------------------------------------------------------


def problem_entry(entry: etree._Element, rec: ExportRecord, ref: str) -> None:
    raw, record = rec.raw, rec.record
    clinical = next(iter(codes_of(raw.get("clinicalStatus"))), None)
    active = clinical is None or clinical.code in ("active", "recurrence", "relapse")
    onset, abatement = fhir_period(raw, "onsetPeriod", "onsetDateTime")
    abatement = abatement or parse_partial_date(raw.get("abatementDateTime"))
    onset = record.effective or onset
    act = sub(entry, "act", classCode="ACT", moodCode="EVN")
    template(act, "2.16.840.1.113883.10.20.22.4.3")
    template(act, "2.16.840.1.113883.10.20.22.4.3", R21)
    entry_id(act, rec, "#concern")
    sub(act, "code", code="CONC", codeSystem="2.16.840.1.113883.5.6", displayName="Concern")
    text_ref(act, ref)
    sub(act, "statusCode", code="active" if active else "completed")
    time_element(act, "effectiveTime", onset, None if active else abatement, ended=not active)
    rel = sub(act, "entryRelationship", typeCode="SUBJ")
    obs = sub(rel, "observation", classCode="OBS", moodCode="EVN")
    template(obs, "2.16.840.1.113883.10.20.22.4.4")
    template(obs, "2.16.840.1.113883.10.20.22.4.4", R21)
    entry_id(obs, rec)
    sub(obs, "code", code="55607006", codeSystem=SNOMED_OID, displayName="Problem")
    text_ref(obs, ref)
    sub(obs, "statusCode", code="completed")
    time_element(obs, "effectiveTime", onset, abatement)
    coded(obs, "value", record.codes, record.title, xsi_type="CD")


# --- allergies -----------------------------------------------------------------------------

_ALLERGY_TYPES = {
    "medication": ("416098002", "Allergy to drug"),
    "food": ("414285001", "Allergy to food"),
    "environment": ("426232007", "Environmental allergy"),
}


def allergy_entry(entry: etree._Element, rec: ExportRecord, ref: str) -> None:
    raw, record = rec.raw, rec.record
    clinical = next(iter(codes_of(raw.get("clinicalStatus"))), None)
    active = clinical is None or clinical.code == "active"
    onset = record.effective or parse_partial_date(raw.get("onsetDateTime"))
    act = sub(entry, "act", classCode="ACT", moodCode="EVN")
    template(act, "2.16.840.1.113883.10.20.22.4.30")
    template(act, "2.16.840.1.113883.10.20.22.4.30", R21)
    entry_id(act, rec, "#concern")
    sub(act, "code", code="CONC", codeSystem="2.16.840.1.113883.5.6", displayName="Concern")
    text_ref(act, ref)
    sub(act, "statusCode", code="active" if active else "completed")
    # A completed concern needs an end (CONF:1198-10085); FHIR keeps no date for it.
    time_element(act, "effectiveTime", onset, ended=not active)
    rel = sub(act, "entryRelationship", typeCode="SUBJ")
    obs = sub(rel, "observation", classCode="OBS", moodCode="EVN")
    template(obs, "2.16.840.1.113883.10.20.22.4.7")
    template(obs, "2.16.840.1.113883.10.20.22.4.7", R20)
    entry_id(obs, rec)
    sub(obs, "code", code="ASSERTION", codeSystem=ACT_CODE_OID)
    text_ref(obs, ref)
    sub(obs, "statusCode", code="completed")
    time_element(obs, "effectiveTime", onset)
    category = first_of(raw.get("category"))
    type_code, type_name = _ALLERGY_TYPES.get(
        category if isinstance(category, str) else "",
        ("420134006", "Propensity to adverse reactions"),
    )
    sub(
        obs,
        "value",
        xsi_type="CD",
        code=type_code,
        codeSystem=SNOMED_OID,
        codeSystemName="SNOMED CT",
        displayName=type_name,
    )
    role = sub(sub(obs, "participant", typeCode="CSM"), "participantRole", classCode="MANU")
    entity = sub(role, "playingEntity", classCode="MMAT")
    coded(entity, "code", record.codes, record.title)
    sub(entity, "name", record.title)
    for n, reaction in enumerate(r for r in raw.get("reaction") or () if isinstance(r, dict)):
        manifestation = first_of(reaction.get("manifestation"))
        rel = sub(obs, "entryRelationship", typeCode="MFST", inversionInd="true")
        react = sub(rel, "observation", classCode="OBS", moodCode="EVN")
        template(react, "2.16.840.1.113883.10.20.22.4.9")
        template(react, "2.16.840.1.113883.10.20.22.4.9", R20)
        entry_id(react, rec, f"#reaction-{n}")
        sub(react, "code", code="ASSERTION", codeSystem=ACT_CODE_OID)
        sub(react, "statusCode", code="completed")
        coded(
            react,
            "value",
            codes_of(manifestation),
            display_of(manifestation) or None,
            xsi_type="CD",
        )


# --- medications and immunizations ---------------------------------------------------------


def medication_entry(entry: etree._Element, rec: ExportRecord, ref: str) -> None:
    raw, record = rec.raw, rec.record
    request = record.resource_type == "MedicationRequest"
    start, end = fhir_period(raw, "effectivePeriod", "effectiveDateTime")
    if request:
        validity = (raw.get("dispenseRequest") or {}).get("validityPeriod")
        end = fhir_period({"v": validity}, "v")[1] if validity else None
        start = None
    start = record.effective or start
    status = record.status or ""
    # A statement the patient only intends to take goes back as the intent it came in as.
    planned = request or status == "intended"
    med = sub(
        entry, "substanceAdministration", classCode="SBADM", moodCode="INT" if planned else "EVN"
    )
    template(med, "2.16.840.1.113883.10.20.22.4.16")
    template(med, "2.16.840.1.113883.10.20.22.4.16", R20)
    entry_id(med, rec)
    text_ref(med, ref)
    current = status in ("active", "in-progress", "intended")
    sub(med, "statusCode", code="active" if current else "completed")
    time_element(med, "effectiveTime", start, end, xsi_type="IVL_TS")
    _dose(med, raw)
    product = sub(sub(med, "consumable"), "manufacturedProduct", classCode="MANU")
    template(product, "2.16.840.1.113883.10.20.22.4.23")
    template(product, "2.16.840.1.113883.10.20.22.4.23", R20)
    material = sub(product, "manufacturedMaterial")
    coded(material, "code", record.codes, record.title)


def _dose(med: etree._Element, raw: dict[str, Any]) -> None:
    dosage = raw.get("dosage") or first_of(raw.get("dosageInstruction")) or {}
    dose = dosage.get("dose") if isinstance(dosage, dict) else None
    if not isinstance(dose, dict):
        dose = first_of((dosage.get("doseAndRate") or [{}]) if isinstance(dosage, dict) else [])
        dose = dose.get("doseQuantity") if isinstance(dose, dict) else None
    attrs = quantity_attrs(dose) if isinstance(dose, dict) else None
    # C-CDA R2.1 requires a doseQuantity (CONF:1098-7516); a dose given only in words stays in
    # the narrative.
    sub(med, "doseQuantity", **(attrs or {"nullFlavor": "UNK"}))


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


# --- procedures and encounters -------------------------------------------------------------


def procedure_entry(entry: etree._Element, rec: ExportRecord, ref: str) -> None:
    raw, record = rec.raw, rec.record
    start, end = fhir_period(raw, "performedPeriod", "performedDateTime")
    proc = sub(entry, "procedure", classCode="PROC", moodCode="EVN")
    template(proc, "2.16.840.1.113883.10.20.22.4.14")
    template(proc, "2.16.840.1.113883.10.20.22.4.14", R20)
    entry_id(proc, rec)
    coded(proc, "code", record.codes, record.title)
    text_ref(proc, ref)
    status = {"completed": "completed", "in-progress": "active"}.get(record.status or "")
    sub(proc, "statusCode", code=status or "completed")
    time_element(proc, "effectiveTime", start or record.effective, end)


def encounter_entry(entry: etree._Element, rec: ExportRecord, ref: str) -> None:
    raw, record = rec.raw, rec.record
    start, end = fhir_period(raw, "period")
    enc = sub(entry, "encounter", classCode="ENC", moodCode="EVN")
    template(enc, "2.16.840.1.113883.10.20.22.4.49")
    template(enc, "2.16.840.1.113883.10.20.22.4.49", R21)
    entry_id(enc, rec)
    encounter_codes = tuple(c for concept in raw.get("type") or () for c in codes_of(concept))
    coded(enc, "code", encounter_codes, record.title)
    text_ref(enc, ref)
    sub(enc, "statusCode", code="completed" if record.status == "finished" else "active")
    time_element(enc, "effectiveTime", start or record.effective, end)


__all__ = [
    "EntryBuilder",
    "allergy_entry",
    "encounter_entry",
    "entry_id",
    "fhir_period",
    "immunization_entry",
    "medication_entry",
    "problem_entry",
    "procedure_entry",
    "text_ref",
]
