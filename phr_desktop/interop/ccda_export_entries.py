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
from phr_desktop.interop.ccda_export_values import (
    ACT_CODE_OID,
    LOINC_OID,
    SNOMED_OID,
    coded,
    number_text,
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


def _id(parent: etree._Element, rec: ExportRecord, suffix: str = "") -> None:
    source = rec.record.source_system or "phr-desktop"
    sub(
        parent,
        "id",
        root=stable_uid("source", source),
        extension=f"{rec.record.resource_type}/{rec.record.resource_id}{suffix}",
    )


def _text_ref(parent: etree._Element, ref: str) -> None:
    sub(sub(parent, "text"), "reference", value=f"#{ref}")


def _period(raw: dict[str, Any], *names: str) -> tuple[Any, Any]:
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
    clinical = first_of(codes_of(raw.get("clinicalStatus")))
    active = clinical is None or clinical.code in ("active", "recurrence", "relapse")
    onset, abatement = _period(raw, "onsetPeriod", "onsetDateTime")
    abatement = abatement or parse_partial_date(raw.get("abatementDateTime"))
    onset = record.effective or onset
    act = sub(entry, "act", classCode="ACT", moodCode="EVN")
    template(act, "2.16.840.1.113883.10.20.22.4.3")
    template(act, "2.16.840.1.113883.10.20.22.4.3", R21)
    _id(act, rec, "#concern")
    sub(act, "code", code="CONC", codeSystem="2.16.840.1.113883.5.6", displayName="Concern")
    _text_ref(act, ref)
    sub(act, "statusCode", code="active" if active else "completed")
    time_element(act, "effectiveTime", onset, None if active else abatement)
    rel = sub(act, "entryRelationship", typeCode="SUBJ")
    obs = sub(rel, "observation", classCode="OBS", moodCode="EVN")
    template(obs, "2.16.840.1.113883.10.20.22.4.4")
    template(obs, "2.16.840.1.113883.10.20.22.4.4", R21)
    _id(obs, rec)
    sub(obs, "code", code="55607006", codeSystem=SNOMED_OID, displayName="Problem")
    _text_ref(obs, ref)
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
    clinical = first_of(codes_of(raw.get("clinicalStatus")))
    active = clinical is None or clinical.code == "active"
    onset = record.effective or parse_partial_date(raw.get("onsetDateTime"))
    act = sub(entry, "act", classCode="ACT", moodCode="EVN")
    template(act, "2.16.840.1.113883.10.20.22.4.30")
    template(act, "2.16.840.1.113883.10.20.22.4.30", R21)
    _id(act, rec, "#concern")
    sub(act, "code", code="CONC", codeSystem="2.16.840.1.113883.5.6", displayName="Concern")
    _text_ref(act, ref)
    sub(act, "statusCode", code="active" if active else "completed")
    time_element(act, "effectiveTime", onset)
    rel = sub(act, "entryRelationship", typeCode="SUBJ")
    obs = sub(rel, "observation", classCode="OBS", moodCode="EVN")
    template(obs, "2.16.840.1.113883.10.20.22.4.7")
    template(obs, "2.16.840.1.113883.10.20.22.4.7", R20)
    _id(obs, rec)
    sub(obs, "code", code="ASSERTION", codeSystem=ACT_CODE_OID)
    _text_ref(obs, ref)
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
        _id(react, rec, f"#reaction-{n}")
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
    start, end = _period(raw, "effectivePeriod", "effectiveDateTime")
    if request:
        validity = (raw.get("dispenseRequest") or {}).get("validityPeriod")
        end = _period({"v": validity}, "v")[1] if validity else None
        start = None
    start = record.effective or start
    status = record.status or ""
    med = sub(
        entry, "substanceAdministration", classCode="SBADM", moodCode="INT" if request else "EVN"
    )
    template(med, "2.16.840.1.113883.10.20.22.4.16")
    template(med, "2.16.840.1.113883.10.20.22.4.16", R20)
    _id(med, rec)
    _text_ref(med, ref)
    sub(med, "statusCode", code="active" if status in ("active", "in-progress") else "completed")
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
    if attrs:
        sub(med, "doseQuantity", **attrs)


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
    _id(imm, rec)
    _text_ref(imm, ref)
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


# --- results and vital signs ---------------------------------------------------------------


def result_entry(entry: etree._Element, rec: ExportRecord, ref: str) -> None:
    _organizer(entry, rec, ref, "2.16.840.1.113883.10.20.22.4.1", "2.16.840.1.113883.10.20.22.4.2")


def vital_entry(entry: etree._Element, rec: ExportRecord, ref: str) -> None:
    _organizer(
        entry, rec, ref, "2.16.840.1.113883.10.20.22.4.26", "2.16.840.1.113883.10.20.22.4.27"
    )


def _organizer(
    entry: etree._Element, rec: ExportRecord, ref: str, organizer_tid: str, observation_tid: str
) -> None:
    raw, record = rec.raw, rec.record
    vital = organizer_tid.endswith(".26")
    org = sub(entry, "organizer", classCode="CLUSTER" if vital else "BATTERY", moodCode="EVN")
    template(org, organizer_tid)
    template(org, organizer_tid, R21)
    _id(org, rec, "#organizer")
    if vital:
        sub(org, "code", code="46680005", codeSystem=SNOMED_OID, displayName="Vital signs")
    else:
        coded(org, "code", record.codes, record.title)
    sub(org, "statusCode", code="completed")
    time_element(org, "effectiveTime", record.effective)
    components = [c for c in raw.get("component") or () if isinstance(c, dict)]
    has_own_value = any(k.startswith("value") for k in raw) or record.resource_type != "Observation"
    parts: list[tuple[dict[str, Any], str]] = [(raw, "")] if has_own_value or not components else []
    parts += [(c, f"#component-{n}") for n, c in enumerate(components)]
    for part, suffix in parts:
        obs = sub(sub(org, "component"), "observation", classCode="OBS", moodCode="EVN")
        template(obs, observation_tid)
        template(obs, observation_tid, R20 if vital else R21)
        _id(obs, rec, suffix)
        if part is raw:
            coded(obs, "code", record.codes, record.title)
        else:
            coded(obs, "code", codes_of(part.get("code")), display_of(part.get("code")) or None)
        _text_ref(obs, ref)
        sub(obs, "statusCode", code="completed")
        time_element(obs, "effectiveTime", record.effective, interval=False)
        _value(obs, part, rec)
        for interpretation in part.get("interpretation") or ():
            coded(obs, "interpretationCode", codes_of(interpretation))
        _reference_ranges(obs, part)


def _value(obs: etree._Element, part: dict[str, Any], rec: ExportRecord) -> None:
    quantity = part.get("valueQuantity")
    attrs = quantity_attrs(quantity) if isinstance(quantity, dict) else None
    if attrs:
        sub(obs, "value", xsi_type="PQ", **attrs)
        return
    concept = part.get("valueCodeableConcept")
    if isinstance(concept, dict):
        coded(obs, "value", codes_of(concept), display_of(concept) or None, xsi_type="CD")
        return
    text = None
    if isinstance(quantity, dict):
        number = number_text(quantity.get("value"))
        text = " ".join(x for x in (quantity.get("comparator"), number, quantity.get("unit")) if x)
    for key in ("valueString", "valueInteger", "valueBoolean", "valueDateTime"):
        if key in part:
            text = str(part[key])
    if text is None and part is rec.raw:
        if rec.record.value and rec.record.value.text:
            text = rec.record.value.text
        elif isinstance(part.get("conclusion"), str):
            text = part["conclusion"]
    if text:
        sub(obs, "value", text, xsi_type="ST")


def _reference_ranges(obs: etree._Element, part: dict[str, Any]) -> None:
    for reference in part.get("referenceRange") or ():
        if not isinstance(reference, dict):
            continue
        low = quantity_attrs(reference.get("low") or {})
        high = quantity_attrs(reference.get("high") or {})
        text = reference.get("text") if isinstance(reference.get("text"), str) else None
        if not (low or high or text):
            continue
        observation_range = sub(sub(obs, "referenceRange"), "observationRange")
        if text:
            sub(observation_range, "text", text)
        if low or high:
            interval = sub(observation_range, "value", xsi_type="IVL_PQ")
            if low:
                sub(interval, "low", **low)
            if high:
                sub(interval, "high", **high)


# --- procedures and encounters -------------------------------------------------------------


def procedure_entry(entry: etree._Element, rec: ExportRecord, ref: str) -> None:
    raw, record = rec.raw, rec.record
    start, end = _period(raw, "performedPeriod", "performedDateTime")
    proc = sub(entry, "procedure", classCode="PROC", moodCode="EVN")
    template(proc, "2.16.840.1.113883.10.20.22.4.14")
    template(proc, "2.16.840.1.113883.10.20.22.4.14", R20)
    _id(proc, rec)
    coded(proc, "code", record.codes, record.title)
    _text_ref(proc, ref)
    status = {"completed": "completed", "in-progress": "active"}.get(record.status or "")
    sub(proc, "statusCode", code=status or "completed")
    time_element(proc, "effectiveTime", start or record.effective, end)


def encounter_entry(entry: etree._Element, rec: ExportRecord, ref: str) -> None:
    raw, record = rec.raw, rec.record
    start, end = _period(raw, "period")
    enc = sub(entry, "encounter", classCode="ENC", moodCode="EVN")
    template(enc, "2.16.840.1.113883.10.20.22.4.49")
    template(enc, "2.16.840.1.113883.10.20.22.4.49", R21)
    _id(enc, rec)
    encounter_codes = tuple(c for concept in raw.get("type") or () for c in codes_of(concept))
    coded(enc, "code", encounter_codes, record.title)
    _text_ref(enc, ref)
    sub(enc, "statusCode", code="completed" if record.status == "finished" else "active")
    time_element(enc, "effectiveTime", start or record.effective, end)


__all__ = [
    "LOINC_OID",
    "EntryBuilder",
    "allergy_entry",
    "encounter_entry",
    "immunization_entry",
    "medication_entry",
    "problem_entry",
    "procedure_entry",
    "result_entry",
    "vital_entry",
]
