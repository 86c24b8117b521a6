"""C-CDA entries (problem concern, medication, allergy, result, vital sign…) as FHIR R4 dicts."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from lxml import etree

from phr_desktop.interop.ccda_values import (
    Narrative,
    attr,
    child,
    children,
    concept,
    effective_times,
    identifiers,
    period_of,
    quantity,
    resource_id,
    template_roots,
    text_of,
    time_of,
    v,
    value_fields,
)

_OBS_CATEGORY = "http://terminology.hl7.org/CodeSystem/observation-category"
_CLINICAL = "http://terminology.hl7.org/CodeSystem/condition-clinical"
_ALLERGY_CLINICAL = "http://terminology.hl7.org/CodeSystem/allergyintolerance-clinical"
_ACT_CODE = "http://terminology.hl7.org/CodeSystem/v3-ActCode"
_CLINICAL_ENTRY_TAGS = (
    "observation",
    "act",
    "organizer",
    "substanceAdministration",
    "supply",
    "procedure",
    "encounter",
)


@dataclass
class Context:
    """What every entry mapper needs: the narrative, the patient, the document's own name."""

    narrative: Narrative
    patient_ref: dict[str, str]
    meta: dict[str, Any]


# Section Time Range Observation (C-CDA R2.1 Companion Guide): the period a section covers, said
# about the section, not the patient; as a record it would be a lab result named "Clinical data".
_SECTION_TIME_RANGE = ("2.16.840.1.113883.10.20.22.4.201", "82607-3")


def clinical_statement(entry: etree._Element) -> etree._Element | None:
    """The entry's act, observation, organizer…; None when it has none about the patient."""
    for el in entry:
        if isinstance(el.tag, str) and el.tag in {v(t) for t in _CLINICAL_ENTRY_TAGS}:
            return None if _describes_section(el) else el
    return None


def _describes_section(el: etree._Element) -> bool:
    template, loinc = _SECTION_TIME_RANGE
    return template in template_roots(el) or attr(child(el, "code"), "code") == loinc


def _nested(el: etree._Element, tag: str, template: str | None = None) -> list[etree._Element]:
    """Clinical statements under entryRelationship/component, optionally of one template."""
    out = []
    for rel in (*children(el, "entryRelationship"), *children(el, "component")):
        for inner in children(rel, tag):
            if template is None or template in template_roots(inner):
                out.append(inner)
    return out


def _base(resource_type: str, el: etree._Element, ctx: Context, salt: str = "") -> dict[str, Any]:
    out: dict[str, Any] = {
        "resourceType": resource_type,
        "id": resource_id(resource_type, el, salt),
        "meta": ctx.meta,
    }
    ids = identifiers(el)
    if ids:
        out["identifier"] = ids
    return out


def _negated(el: etree._Element) -> bool:
    return el.get("negationInd") == "true"


def _status_code(el: etree._Element) -> str | None:
    return attr(child(el, "statusCode"), "code")


def _text(el: etree._Element, ctx: Context) -> str | None:
    return ctx.narrative.resolve(child(el, "text"))


def _put(out: dict[str, Any], key: str, value: Any) -> None:
    if value:
        out[key] = value


def _category(code: str, display: str) -> list[dict[str, Any]]:
    return [{"coding": [{"system": _OBS_CATEGORY, "code": code, "display": display}]}]


# --- problems ---------------------------------------------------------------------------------


def problems(el: etree._Element, ctx: Context) -> Iterator[dict[str, Any]]:
    observations = _nested(el, "observation", "2.16.840.1.113883.10.20.22.4.4") or [
        o for o in _nested(el, "observation")
    ]
    if el.tag == v("observation"):
        observations = [el]
    concern_status = _status_code(el)
    for obs in observations or [el]:
        out = _base("Condition", obs, ctx)
        out["category"] = [
            {
                "coding": [
                    {
                        "system": "http://terminology.hl7.org/CodeSystem/condition-category",
                        "code": "problem-list-item",
                    }
                ]
            }
        ]
        value = child(obs, "value")
        # The problem is the value: coded, else its text (an ED or ST pointing into the
        # narrative), else the entry's text; the code only says "Problem", "Complaint"…
        code = (
            concept(value, ctx.narrative)
            or _text_concept(ctx.narrative.resolve(value))
            or _text_concept(_text(obs, ctx))
            or concept(child(obs, "code"), ctx.narrative)
        )
        if code and not code.get("text"):
            _put(code, "text", _text(obs, ctx))
        _put(out, "code", code)
        out["subject"] = ctx.patient_ref
        status = _problem_status(obs, concern_status, ctx)
        if status:
            out["clinicalStatus"] = {"coding": [{"system": _CLINICAL, "code": status}]}
        if _negated(obs):
            out["verificationStatus"] = {
                "coding": [
                    {
                        "system": "http://terminology.hl7.org/CodeSystem/condition-ver-status",
                        "code": "refuted",
                    }
                ]
            }
        # Epic nulls the problem's own time (<low nullFlavor="UNK"/>) and dates the concern.
        period = _first_period(obs) or _first_period(el)
        if period:
            _put(out, "onsetDateTime", period.get("start"))
            _put(out, "abatementDateTime", period.get("end"))
        _put(out, "recordedDate", time_of(child(el, "author", "time")))
        yield out


def _first_period(el: etree._Element) -> dict[str, str] | None:
    times = effective_times(el)
    return period_of(times[0]) if times else None


def _text_concept(text: str | None) -> dict[str, Any] | None:
    return {"text": text} if text else None


def _problem_status(obs: etree._Element, concern_status: str | None, ctx: Context) -> str | None:
    for status_obs in _nested(obs, "observation", "2.16.840.1.113883.10.20.22.4.6"):
        value = concept(child(status_obs, "value"), ctx.narrative) or {}
        words = str(value).lower()
        codes = {c.get("code") for c in value.get("coding", [])}
        if "55561003" in codes or "active" in words:
            return "active"
        if "413322009" in codes or "resolved" in words:
            return "resolved"
        if "73425007" in codes or "inactive" in words:
            return "inactive"
    if concern_status == "active":
        return "active"
    if concern_status in ("completed", "aborted", "suspended"):
        return "inactive" if concern_status == "suspended" else "resolved"
    return None


# --- allergies --------------------------------------------------------------------------------


def allergies(el: etree._Element, ctx: Context) -> Iterator[dict[str, Any]]:
    observations = _nested(el, "observation", "2.16.840.1.113883.10.20.22.4.7") or _nested(
        el, "observation"
    )
    if el.tag == v("observation"):
        observations = [el]
    for obs in observations or [el]:
        out = _base("AllergyIntolerance", obs, ctx)
        entity = child(obs, "participant", "participantRole", "playingEntity")
        code = concept(child(entity, "code"), ctx.narrative)
        if code is None and entity is not None:
            code = _text_concept(text_of(child(entity, "name")))
        if code is None:
            code = concept(child(obs, "value"), ctx.narrative)
        _put(out, "code", code or _text_concept(_text(obs, ctx)))
        out["patient"] = ctx.patient_ref
        status = "active" if _status_code(el) in ("active", None) else "resolved"
        for status_obs in _nested(obs, "observation", "2.16.840.1.113883.10.20.22.4.28"):
            words = str(concept(child(status_obs, "value"), ctx.narrative) or "").lower()
            status = (
                "inactive" if "inactive" in words else "resolved" if "resolved" in words else status
            )
        out["clinicalStatus"] = {"coding": [{"system": _ALLERGY_CLINICAL, "code": status}]}
        if _negated(obs):
            out["verificationStatus"] = {
                "coding": [
                    {
                        "system": "http://terminology.hl7.org/CodeSystem/allergyintolerance-verification",
                        "code": "refuted",
                    }
                ]
            }
        kind = concept(child(obs, "value"), ctx.narrative)
        category = _allergy_category(kind)
        if category:
            out["category"] = [category]
        times = effective_times(obs)
        period = period_of(times[0]) if times else None
        _put(out, "onsetDateTime", period.get("start") if period else None)
        reactions = []
        for reaction in _nested(obs, "observation", "2.16.840.1.113883.10.20.22.4.9"):
            manifestation = concept(child(reaction, "value"), ctx.narrative)
            if manifestation:
                item: dict[str, Any] = {"manifestation": [manifestation]}
                severity = _severity(reaction, ctx)
                _put(item, "severity", severity)
                reactions.append(item)
        _put(out, "reaction", reactions)
        yield out


def _allergy_category(kind: dict[str, Any] | None) -> str | None:
    codes = {c.get("code") for c in (kind or {}).get("coding", [])}
    if codes & {"416098002", "419511003", "59037007"}:
        return "medication"
    if codes & {"414285001", "235719002", "418471000"}:
        return "food"
    if codes & {"426232007"}:
        return "environment"
    return None


def _severity(reaction: etree._Element, ctx: Context) -> str | None:
    for sev in _nested(reaction, "observation", "2.16.840.1.113883.10.20.22.4.8"):
        value = concept(child(sev, "value"), ctx.narrative) or {}
        codes = {c.get("code") for c in value.get("coding", [])}
        words = str(value).lower()
        if codes & {"24484000", "442452003"} or "severe" in words:
            return "severe"
        if codes & {"6736007", "371924009"} or "moderate" in words:
            return "moderate"
        if codes & {"255604002", "371923003"} or "mild" in words:
            return "mild"
    return None


# --- medications, immunizations ---------------------------------------------------------------

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
    if _negated(el):
        return "not-taken"
    mapped = _MED_STATUS.get((_status_code(el) or "").lower())
    if mapped:
        return mapped
    return "intended" if _mood(el) in _PLANNED_MOODS else "unknown"


def _product_concept(el: etree._Element, ctx: Context) -> dict[str, Any] | None:
    material = child(el, "consumable", "manufacturedProduct", "manufacturedMaterial")
    code = concept(child(material, "code"), ctx.narrative)
    name = text_of(child(material, "name"))
    if code is None:
        return _text_concept(name)
    if not code.get("text") and name:
        code["text"] = name
    return code


def medications(el: etree._Element, ctx: Context) -> Iterator[dict[str, Any]]:
    if el.tag != v("substanceAdministration"):
        for inner in _nested(el, "substanceAdministration"):
            yield from medications(inner, ctx)
        return
    out = _base("MedicationStatement", el, ctx)
    out["status"] = _medication_status(el)
    _put(out, "medicationCodeableConcept", _product_concept(el, ctx) or {"text": "medication"})
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
    _put(dosage, "text", _text(el, ctx))
    _put(dosage, "route", concept(child(el, "routeCode"), ctx.narrative))
    dose = quantity(child(el, "doseQuantity"))
    if dose:
        dosage["doseAndRate"] = [{"doseQuantity": dose}]
    if dosage:
        out["dosage"] = [dosage]
    yield out


def immunizations(el: etree._Element, ctx: Context) -> Iterator[dict[str, Any]]:
    if el.tag != v("substanceAdministration"):
        for inner in _nested(el, "substanceAdministration"):
            yield from immunizations(inner, ctx)
        return
    out = _base("Immunization", el, ctx)
    out["status"] = "not-done" if _negated(el) else "completed"
    _put(out, "vaccineCode", _product_concept(el, ctx) or {"text": "vaccine"})
    out["patient"] = ctx.patient_ref
    times = effective_times(el)
    when = time_of(times[0]) if times else None
    if when:
        out["occurrenceDateTime"] = when
    else:
        out["occurrenceString"] = "unknown"
    material = child(el, "consumable", "manufacturedProduct", "manufacturedMaterial")
    _put(out, "lotNumber", text_of(child(material, "lotNumberText")))
    _put(out, "route", concept(child(el, "routeCode"), ctx.narrative))
    dose = quantity(child(el, "doseQuantity"))
    _put(out, "doseQuantity", dose)
    yield out


# --- observations: results, vital signs, social history ---------------------------------------


def _observation(
    obs: etree._Element, ctx: Context, category: list[dict[str, Any]]
) -> dict[str, Any]:
    out = _base("Observation", obs, ctx)
    out["status"] = (
        "cancelled"
        if _negated(obs)
        else {"active": "preliminary", "aborted": "cancelled", "cancelled": "cancelled"}.get(
            _status_code(obs) or "", "final"
        )
    )
    out["category"] = category
    code = concept(child(obs, "code"), ctx.narrative)
    _put(out, "code", code or _text_concept(_text(obs, ctx)) or {"text": "observation"})
    out["subject"] = ctx.patient_ref
    times = effective_times(obs)
    if times:
        period = period_of(times[0])
        if period and "end" in period and period.get("start") != period["end"]:
            out["effectivePeriod"] = period
        elif period:
            out["effectiveDateTime"] = period.get("start") or period.get("end")
    out.update(value_fields(child(obs, "value"), ctx.narrative))
    interpretations = [
        cc for i in children(obs, "interpretationCode") if (cc := concept(i, ctx.narrative))
    ]
    _put(out, "interpretation", interpretations)
    ranges = []
    for rr in children(obs, "referenceRange"):
        obs_range = child(rr, "observationRange")
        item: dict[str, Any] = {}
        value = value_fields(child(obs_range, "value"), ctx.narrative)
        rng = value.get("valueRange") or {}
        _put(item, "low", rng.get("low"))
        _put(item, "high", rng.get("high"))
        _put(item, "text", ctx.narrative.resolve(child(obs_range, "text")))
        if item:
            ranges.append(item)
    _put(out, "referenceRange", ranges)
    _put(out, "note", [{"text": t} for t in [_text(obs, ctx)] if t and "valueString" not in out])
    return out


def results(el: etree._Element, ctx: Context) -> Iterator[dict[str, Any]]:
    category = _category("laboratory", "Laboratory")
    if el.tag == v("observation"):
        yield _observation(el, ctx, category)
        return
    members = _nested(el, "observation")
    observations = [_observation(obs, ctx, category) for obs in members]
    yield from observations
    if el.tag == v("organizer"):
        report = _base("DiagnosticReport", el, ctx)
        report["status"] = "final" if _status_code(el) in ("completed", None) else "partial"
        report["category"] = [
            {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/v2-0074", "code": "LAB"}]}
        ]
        _put(report, "code", concept(child(el, "code"), ctx.narrative) or {"text": "Results"})
        report["subject"] = ctx.patient_ref
        times = effective_times(el)
        when = time_of(times[0]) if times else None
        if when is None and observations:
            when = observations[0].get("effectiveDateTime")
        _put(report, "effectiveDateTime", when)
        report["result"] = [{"reference": f"Observation/{o['id']}"} for o in observations]
        yield report


def vitals(el: etree._Element, ctx: Context) -> Iterator[dict[str, Any]]:
    category = _category("vital-signs", "Vital Signs")
    members = [el] if el.tag == v("observation") else _nested(el, "observation")
    organizer_times = effective_times(el)
    for obs in members:
        out = _observation(obs, ctx, category)
        if "effectiveDateTime" not in out and "effectivePeriod" not in out and organizer_times:
            _put(out, "effectiveDateTime", time_of(organizer_times[0]))
        yield out


def social_history(el: etree._Element, ctx: Context) -> Iterator[dict[str, Any]]:
    category = _category("social-history", "Social History")
    if el.tag == v("observation"):
        yield _observation(el, ctx, category)
    else:
        for obs in _nested(el, "observation"):
            yield _observation(obs, ctx, category)


# --- procedures, encounters, plan of care -----------------------------------------------------

_PROCEDURE_STATUS = {
    "completed": "completed",
    "active": "in-progress",
    "aborted": "stopped",
    "cancelled": "not-done",
    "new": "preparation",
    "held": "on-hold",
    "suspended": "on-hold",
}


def procedures(el: etree._Element, ctx: Context) -> Iterator[dict[str, Any]]:
    if el.tag == v("organizer"):
        for rel in children(el, "component"):
            inner = clinical_statement(rel)
            if inner is not None:
                yield from procedures(inner, ctx)
        return
    out = _base("Procedure", el, ctx)
    out["status"] = (
        "not-done" if _negated(el) else _PROCEDURE_STATUS.get(_status_code(el) or "", "unknown")
    )
    code = concept(child(el, "code"), ctx.narrative)
    _put(out, "code", code or _text_concept(_text(el, ctx)) or {"text": "procedure"})
    out["subject"] = ctx.patient_ref
    times = effective_times(el)
    period = period_of(times[0]) if times else None
    if period and "end" in period and period.get("start") != period["end"]:
        out["performedPeriod"] = period
    elif period:
        out["performedDateTime"] = period.get("start") or period.get("end")
    _put(
        out,
        "bodySite",
        [cc for s in children(el, "targetSiteCode") if (cc := concept(s, ctx.narrative))],
    )
    yield out


def encounters(el: etree._Element, ctx: Context) -> Iterator[dict[str, Any]]:
    if el.tag != v("encounter"):
        return
    out = _base("Encounter", el, ctx)
    out["status"] = "finished" if el.get("moodCode", "EVN") == "EVN" else "planned"
    code = concept(child(el, "code"), ctx.narrative)
    cls = next((c for c in (code or {}).get("coding", []) if c.get("system") == _ACT_CODE), None)
    out["class"] = cls or {"system": _ACT_CODE, "code": "AMB", "display": "ambulatory"}
    if code:
        out["type"] = [code]
    out["subject"] = ctx.patient_ref
    times = effective_times(el)
    _put(out, "period", period_of(times[0]) if times else None)
    reasons = []
    for act in _nested(el, "act", "2.16.840.1.113883.10.20.22.4.80"):
        for obs in _nested(act, "observation"):
            cc = concept(child(obs, "value"), ctx.narrative)
            if cc:
                reasons.append(cc)
    for obs in _nested(el, "observation", "2.16.840.1.113883.10.20.22.4.19"):
        cc = concept(child(obs, "value"), ctx.narrative)
        if cc:
            reasons.append(cc)
    _put(out, "reasonCode", reasons)
    locations = []
    for participant in children(el, "participant"):
        role = child(participant, "participantRole")
        name = text_of(child(role, "playingEntity", "name"))
        if name:
            locations.append({"location": {"display": name}})
    _put(out, "location", locations)
    yield out


def plan_of_care(el: etree._Element, ctx: Context) -> Iterator[dict[str, Any]]:
    mood = el.get("moodCode", "")
    code = concept(child(el, "code"), ctx.narrative) or _text_concept(_text(el, ctx))
    times = effective_times(el)
    when = time_of(times[0]) if times else None
    if mood == "GOL" or "2.16.840.1.113883.10.20.22.4.121" in template_roots(el):
        out = _base("Goal", el, ctx)
        out["lifecycleStatus"] = "cancelled" if _negated(el) else "active"
        out["description"] = code or {"text": "goal"}
        out["subject"] = ctx.patient_ref
        _put(out, "startDate", when[:10] if when else None)
        target = value_fields(child(el, "value"), ctx.narrative, prefix="detail")
        if target:
            out["target"] = [target]
        yield out
        return
    if el.tag == v("substanceAdministration"):
        out = _base("MedicationRequest", el, ctx)
        out["status"] = (
            "cancelled"
            if _negated(el)
            else _REQUEST_STATUS.get((_status_code(el) or "").lower(), "active")
        )
        out["intent"] = _REQUEST_INTENT.get(_mood(el), "plan")
        _put(out, "medicationCodeableConcept", _product_concept(el, ctx) or {"text": "medication"})
        out["subject"] = ctx.patient_ref
        _put(out, "authoredOn", when)
        yield out
        return
    out = _base("ServiceRequest", el, ctx)
    out["status"] = "revoked" if _negated(el) else "active"
    out["intent"] = "proposal" if mood == "PRP" else "plan"
    _put(out, "code", code)
    out["subject"] = ctx.patient_ref
    _put(out, "occurrenceDateTime", when)
    _put(out, "note", [{"text": t} for t in [_text(el, ctx)] if t])
    yield out


Mapper = Callable[[etree._Element, Context], Iterator[dict[str, Any]]]
