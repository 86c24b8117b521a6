"""C-CDA problem and allergy entries (each usually inside a concern act) as FHIR R4 Condition and
AllergyIntolerance dicts.

Status follows HL7's C-CDA on FHIR mapping: the observation's own Status Observation (LOINC
33999-4) first, then its effectiveTime/high (a dated end means it is over), and only then the
concern act's statusCode, which says whether the clinician still tracks the concern, not
whether the patient still has it. A negated allergy with no allergen, or an allergen coded
"no known allergy", is the source saying "no known allergies", kept as US Core writes it.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from lxml import etree

from phr_desktop.domain.no_known_allergy import (
    NO_KNOWN_ALLERGY,
    NO_KNOWN_DRUG_ALLERGY,
    NO_KNOWN_ENVIRONMENTAL_ALLERGY,
    NO_KNOWN_FOOD_ALLERGY,
    SNOMED,
    is_no_known_allergy,
)
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
    effective_times,
    period_of,
    template_roots,
    text_of,
    time_of,
    v,
)

_CLINICAL = "http://terminology.hl7.org/CodeSystem/condition-clinical"
_ALLERGY_CLINICAL = "http://terminology.hl7.org/CodeSystem/allergyintolerance-clinical"
_ALLERGY_VERIFICATION = "http://terminology.hl7.org/CodeSystem/allergyintolerance-verification"

# Problem Status (2.16.840.1.113883.10.20.22.4.6) and Allergy Status (…4.28) observations, both
# coded LOINC 33999-4 "Status".
_STATUS_TEMPLATES = frozenset({"2.16.840.1.113883.10.20.22.4.6", "2.16.840.1.113883.10.20.22.4.28"})
_STATUS_LOINC = "33999-4"
# Their SNOMED CT values → Condition.clinicalStatus (C-CDA on FHIR ConceptMaps CF-ProblemStatus
# and CF-AllergyStatus).
_STATUS_BY_SNOMED = {
    "55561003": "active",
    "73425007": "inactive",
    "413322009": "resolved",
    "277022003": "remission",
    "246455001": "recurrence",
    "263855007": "relapse",
}
# Words vendors write instead of a code; "inactive" before "active", which it contains.
_STATUS_WORDS = (
    ("inactive", "inactive"),
    ("resolved", "resolved"),
    ("remission", "remission"),
    ("recurrence", "recurrence"),
    ("relapse", "relapse"),
    ("active", "active"),
)
# AllergyIntolerance.clinicalStatus has only active, inactive and resolved.
_AS_ALLERGY_STATUS = {"remission": "inactive", "recurrence": "active", "relapse": "active"}
# Concern act statusCode → clinical status (C-CDA on FHIR CF-ConditionClinicalStatus).
_CONCERN_STATUS = {
    "active": "active",
    "completed": "inactive",
    "aborted": "inactive",
    "suspended": "inactive",
}

# "No known allergy" situations (SNOMED CT), by the allergy type the observation's value gives.
_NO_KNOWN_BY_TYPE = {
    "416098002": NO_KNOWN_DRUG_ALLERGY,
    "419511003": NO_KNOWN_DRUG_ALLERGY,
    "59037007": NO_KNOWN_DRUG_ALLERGY,
    "414285001": NO_KNOWN_FOOD_ALLERGY,
    "418471000": NO_KNOWN_FOOD_ALLERGY,
    "235719002": NO_KNOWN_FOOD_ALLERGY,
    "426232007": NO_KNOWN_ENVIRONMENTAL_ALLERGY,
}


def problems(el: etree._Element, ctx: Context) -> Iterator[dict[str, Any]]:
    observations = nested_statements(el, "observation", "2.16.840.1.113883.10.20.22.4.4") or [
        o for o in nested_statements(el, "observation")
    ]
    if el.tag == v("observation"):
        observations = [el]
    concern = el if el.tag != v("observation") else None
    concern_status = status_code(el) if concern is not None else None
    for obs in observations or [el]:
        out = resource_base("Condition", obs, ctx)
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
            or text_concept(ctx.narrative.resolve(value))
            or text_concept(statement_text(obs, ctx))
            or concept(child(obs, "code"), ctx.narrative)
        )
        if code and not code.get("text"):
            set_nonempty(code, "text", statement_text(obs, ctx))
        set_nonempty(out, "code", code)
        out["subject"] = ctx.patient_ref
        status = clinical_status(obs, concern_status, ctx, concern)
        if status:
            out["clinicalStatus"] = {"coding": [{"system": _CLINICAL, "code": status}]}
        if negated(obs):
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
            set_nonempty(out, "onsetDateTime", period.get("start"))
            set_nonempty(out, "abatementDateTime", period.get("end"))
        set_nonempty(out, "recordedDate", time_of(child(el, "author", "time")))
        yield out


def _first_period(el: etree._Element) -> dict[str, str] | None:
    times = effective_times(el)
    return period_of(times[0]) if times else None


def clinical_status(
    obs: etree._Element,
    concern_status: str | None,
    ctx: Context,
    concern: etree._Element | None = None,
) -> str | None:
    """The observation's clinical status: its Status Observation, else a dated end
    (effectiveTime/high), else the concern act's statusCode; None when nothing says."""
    for holder in (obs, concern):
        for status_obs in _status_observations(holder):
            found = _status_value(concept(child(status_obs, "value"), ctx.narrative))
            if found:
                return found
    for time in effective_times(obs):
        # Only a real date: vendors write <high nullFlavor="UNK"/> on problems still active.
        if attr(child(time, "high"), "value") and (period_of(time) or {}).get("end"):
            return "resolved"
    return _CONCERN_STATUS.get(concern_status or "")


def _status_observations(el: etree._Element | None) -> list[etree._Element]:
    if el is None:
        return []
    return [
        o
        for o in nested_statements(el, "observation")
        if template_roots(o) & _STATUS_TEMPLATES or attr(child(o, "code"), "code") == _STATUS_LOINC
    ]


def _status_value(value: dict[str, Any] | None) -> str | None:
    if not value:
        return None
    for coding in value.get("coding", []):
        if coding.get("code") in _STATUS_BY_SNOMED:
            return _STATUS_BY_SNOMED[coding["code"]]
    words = " ".join(
        [str(value.get("text") or "")]
        + [f"{c.get('display') or ''} {c.get('code') or ''}" for c in value.get("coding", [])]
    ).lower()
    return next((status for word, status in _STATUS_WORDS if word in words), None)


def allergies(el: etree._Element, ctx: Context) -> Iterator[dict[str, Any]]:
    observations = nested_statements(
        el, "observation", "2.16.840.1.113883.10.20.22.4.7"
    ) or nested_statements(el, "observation")
    if el.tag == v("observation"):
        observations = [el]
    concern = el if el.tag != v("observation") else None
    for obs in observations or [el]:
        if attr(obs, "nullFlavor"):
            continue  # "not asked", "no information": a placeholder, not an allergy
        yield _allergy(obs, concern, ctx)


def _allergy(obs: etree._Element, concern: etree._Element | None, ctx: Context) -> dict[str, Any]:
    out = resource_base("AllergyIntolerance", obs, ctx)
    entity = child(obs, "participant", "participantRole", "playingEntity")
    allergen = concept(child(entity, "code"), ctx.narrative)
    if allergen is None and entity is not None:
        allergen = text_concept(text_of(child(entity, "name")))
    kind = concept(child(obs, "value"), ctx.narrative)
    if negated(obs) and not (allergen or {}).get("coding"):
        # Negated with no allergen named: "no known (drug…) allergy" (US Core writes it so).
        code, display = _no_known_allergy(kind)
        out["code"] = {"coding": [{"system": SNOMED, "code": code, "display": display}]}
        out["code"]["text"] = display
        verification = "confirmed"
    else:
        if allergen and not allergen.get("text"):
            # Allscripts names the allergen in the allergy type's originalText ("Ampicillin").
            words = ctx.narrative.resolve(child(child(obs, "value"), "originalText"))
            set_nonempty(allergen, "text", words)
        code_cc = titled(allergen, obs, ctx) or kind or text_concept(statement_text(obs, ctx))
        set_nonempty(out, "code", code_cc)
        if code_cc and is_no_known_allergy(code_cc):
            verification = "confirmed"
        else:
            verification = "refuted" if negated(obs) else ""
    out["patient"] = ctx.patient_ref
    # As for problems: the concern's author/time is when the allergy was recorded.
    recorder = concern if concern is not None else obs
    set_nonempty(out, "recordedDate", time_of(child(recorder, "author", "time")))
    status = clinical_status(
        obs, status_code(concern) if concern is not None else None, ctx, concern
    )
    # An allergy nothing says is over is treated as current: hiding one can kill.
    status = _AS_ALLERGY_STATUS.get(status or "", status) or "active"
    out["clinicalStatus"] = {"coding": [{"system": _ALLERGY_CLINICAL, "code": status}]}
    if verification:
        out["verificationStatus"] = {
            "coding": [{"system": _ALLERGY_VERIFICATION, "code": verification}]
        }
    category = _allergy_category(kind)
    if category:
        out["category"] = [category]
    times = effective_times(obs)
    period = period_of(times[0]) if times else None
    set_nonempty(out, "onsetDateTime", period.get("start") if period else None)
    reactions = []
    for reaction in nested_statements(obs, "observation", "2.16.840.1.113883.10.20.22.4.9"):
        manifestation = concept(child(reaction, "value"), ctx.narrative)
        if manifestation:
            item: dict[str, Any] = {"manifestation": [manifestation]}
            severity = _severity(reaction, ctx)
            set_nonempty(item, "severity", severity)
            reactions.append(item)
    set_nonempty(out, "reaction", reactions)
    return out


def _no_known_allergy(kind: dict[str, Any] | None) -> tuple[str, str]:
    for coding in (kind or {}).get("coding", []):
        if coding.get("code") in _NO_KNOWN_BY_TYPE:
            return _NO_KNOWN_BY_TYPE[coding["code"]]
    return NO_KNOWN_ALLERGY


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
    for sev in nested_statements(reaction, "observation", "2.16.840.1.113883.10.20.22.4.8"):
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
