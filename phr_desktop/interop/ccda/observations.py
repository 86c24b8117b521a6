"""C-CDA observations (results and their organizers, vital signs, social history) as FHIR R4
Observation and DiagnosticReport dicts."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from lxml import etree

from phr_desktop.interop.ccda.reference_ranges import reference_range
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
    child,
    children,
    concept,
    effective_times,
    period_of,
    template_roots,
    time_of,
    v,
    value_fields,
)

_OBS_CATEGORY = "http://terminology.hl7.org/CodeSystem/observation-category"


# Names for the LOINC codes of C-CDA's Vital Sign Result Type value set and of the common social
# history observations, for entries that send the code alone, with no displayName and no text
# in the narrative (Allscripts FollowMyHealth): "Heart rate", not "LOINC 8867-4".
_LOINC_NAMES = {
    "8310-5": "Body temperature",
    "8302-2": "Body height",
    "8306-3": "Body height (lying)",
    "8287-5": "Head circumference",
    "29463-7": "Body weight",
    "3141-9": "Body weight (measured)",
    "39156-5": "Body mass index",
    "3140-1": "Body surface area",
    "8480-6": "Systolic blood pressure",
    "8462-4": "Diastolic blood pressure",
    "8478-0": "Mean blood pressure",
    "8867-4": "Heart rate",
    "9279-1": "Respiratory rate",
    "2708-6": "Oxygen saturation",
    "2710-2": "Oxygen saturation",
    "59408-5": "Oxygen saturation by pulse oximetry",
    "3150-0": "Inhaled oxygen concentration",
    "3151-8": "Inhaled oxygen flow rate",
    "72166-2": "Tobacco smoking status",
    "11367-0": "History of tobacco use",
    "76689-9": "Sex assigned at birth",
    "11331-6": "History of alcohol use",
    "74013-4": "Alcoholic drinks per day",
}


def _named_loinc(code: dict[str, Any] | None) -> dict[str, Any] | None:
    if code and not code.get("text"):
        for coding in code.get("coding", []):
            if coding.get("system") == "http://loinc.org" and coding.get("code") in _LOINC_NAMES:
                code["text"] = _LOINC_NAMES[coding["code"]]
                break
    return code


# Smoking Status (…4.78) is coded ASSERTION, which says nothing: C-CDA on FHIR codes it LOINC
# 72166-2 instead (as C-CDA R2.1 itself does), so a round trip through our CCD keeps one code.
_SMOKING_STATUS = "2.16.840.1.113883.10.20.22.4.78"
_ASSERTION = "ASSERTION"


def _asserted(
    code: dict[str, Any] | None, obs: etree._Element, ctx: Context
) -> dict[str, Any] | None:
    """An observation coded only ASSERTION ("this is true:") named for what it asserts."""
    codings = (code or {}).get("coding", [])
    if not code or code.get("text") or [c.get("code") for c in codings] != [_ASSERTION]:
        return code
    if _SMOKING_STATUS in template_roots(obs):
        smoking = {
            "system": "http://loinc.org",
            "code": "72166-2",
            "display": "Tobacco smoking status",
        }
        return {"coding": [smoking], "text": "Tobacco smoking status"}
    asserted = concept(child(obs, "value"), ctx.narrative) or {}
    return {**code, "text": asserted["text"]} if asserted.get("text") else code


def _category(code: str, display: str) -> list[dict[str, Any]]:
    return [{"coding": [{"system": _OBS_CATEGORY, "code": code, "display": display}]}]


def _observation(
    obs: etree._Element, ctx: Context, category: list[dict[str, Any]]
) -> dict[str, Any]:
    out = resource_base("Observation", obs, ctx)
    out["status"] = (
        "cancelled"
        if negated(obs)
        else {"active": "preliminary", "aborted": "cancelled", "cancelled": "cancelled"}.get(
            status_code(obs) or "", "final"
        )
    )
    out["category"] = category
    code = titled(concept(child(obs, "code"), ctx.narrative), obs, ctx)
    code = _asserted(_named_loinc(code), obs, ctx)
    set_nonempty(
        out, "code", code or text_concept(statement_text(obs, ctx)) or {"text": "observation"}
    )
    out["subject"] = ctx.patient_ref
    times = effective_times(obs)
    if times:
        period = period_of(times[0])
        if period and "end" in period and period.get("start") != period["end"]:
            out["effectivePeriod"] = period
        elif period:
            out["effectiveDateTime"] = period.get("start") or period.get("end")
    out.update(value_fields(child(obs, "value"), ctx.narrative))
    quantity = out.get("valueQuantity")
    interpretations = [
        cc for i in children(obs, "interpretationCode") if (cc := concept(i, ctx.narrative))
    ]
    set_nonempty(out, "interpretation", interpretations)
    ranges = [
        item
        for rr in children(obs, "referenceRange")
        if (item := reference_range(child(rr, "observationRange"), ctx.narrative, quantity))
    ]
    set_nonempty(out, "referenceRange", ranges)
    set_nonempty(
        out,
        "note",
        [{"text": t} for t in [statement_text(obs, ctx)] if t and "valueString" not in out],
    )
    return out


def results(el: etree._Element, ctx: Context) -> Iterator[dict[str, Any]]:
    category = _category("laboratory", "Laboratory")
    if el.tag == v("observation"):
        yield _observation(el, ctx, category)
        return
    members = nested_statements(el, "observation")
    observations = [_observation(obs, ctx, category) for obs in members]
    yield from observations
    if el.tag == v("organizer"):
        report = resource_base("DiagnosticReport", el, ctx)
        report["status"] = "final" if status_code(el) in ("completed", None) else "partial"
        report["category"] = [
            {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/v2-0074", "code": "LAB"}]}
        ]
        code = titled(concept(child(el, "code"), ctx.narrative), el, ctx)
        if code is None and len(observations) == 1:  # an uncoded panel of one: its result
            code = text_concept(observations[0]["code"].get("text"))
        set_nonempty(report, "code", code or {"text": "Results"})
        report["subject"] = ctx.patient_ref
        times = effective_times(el)
        when = time_of(times[0]) if times else None
        if when is None and observations:
            when = observations[0].get("effectiveDateTime")
        set_nonempty(report, "effectiveDateTime", when)
        report["result"] = [{"reference": f"Observation/{o['id']}"} for o in observations]
        yield report


def vitals(el: etree._Element, ctx: Context) -> Iterator[dict[str, Any]]:
    category = _category("vital-signs", "Vital Signs")
    members = [el] if el.tag == v("observation") else nested_statements(el, "observation")
    organizer_times = effective_times(el)
    for obs in members:
        out = _observation(obs, ctx, category)
        if "effectiveDateTime" not in out and "effectivePeriod" not in out and organizer_times:
            set_nonempty(out, "effectiveDateTime", time_of(organizer_times[0]))
        yield out


def social_history(el: etree._Element, ctx: Context) -> Iterator[dict[str, Any]]:
    category = _category("social-history", "Social History")
    if el.tag == v("observation"):
        yield _observation(el, ctx, category)
    else:
        for obs in nested_statements(el, "observation"):
            yield _observation(obs, ctx, category)
