"""C-CDA care done or planned (procedures, encounters, the plan of care's goals and planned
services and medications) as FHIR R4 Procedure, Encounter, Goal, ServiceRequest and
MedicationRequest dicts."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from lxml import etree

from phr_desktop.interop.ccda.medications import medication_request
from phr_desktop.interop.ccda.statements import (
    Context,
    clinical_statement,
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
    text_of,
    time_of,
    v,
    value_fields,
)

_ACT_CODE = "http://terminology.hl7.org/CodeSystem/v3-ActCode"

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
    out = resource_base("Procedure", el, ctx)
    out["status"] = (
        "not-done" if negated(el) else _PROCEDURE_STATUS.get(status_code(el) or "", "unknown")
    )
    code = titled(concept(child(el, "code"), ctx.narrative), el, ctx)
    set_nonempty(
        out, "code", code or text_concept(statement_text(el, ctx)) or {"text": "procedure"}
    )
    out["subject"] = ctx.patient_ref
    times = effective_times(el)
    period = period_of(times[0]) if times else None
    if period and "end" in period and period.get("start") != period["end"]:
        out["performedPeriod"] = period
    elif period:
        out["performedDateTime"] = period.get("start") or period.get("end")
    set_nonempty(
        out,
        "bodySite",
        [cc for s in children(el, "targetSiteCode") if (cc := concept(s, ctx.narrative))],
    )
    yield out


def encounters(el: etree._Element, ctx: Context) -> Iterator[dict[str, Any]]:
    if el.tag != v("encounter"):
        return
    out = resource_base("Encounter", el, ctx)
    out["status"] = "finished" if el.get("moodCode", "EVN") == "EVN" else "planned"
    code = titled(concept(child(el, "code"), ctx.narrative), el, ctx)
    cls = next((c for c in (code or {}).get("coding", []) if c.get("system") == _ACT_CODE), None)
    out["class"] = cls or {"system": _ACT_CODE, "code": "AMB", "display": "ambulatory"}
    if code:
        out["type"] = [code]
    out["subject"] = ctx.patient_ref
    times = effective_times(el)
    set_nonempty(out, "period", period_of(times[0]) if times else None)
    reasons = []
    for act in nested_statements(el, "act", "2.16.840.1.113883.10.20.22.4.80"):
        for obs in nested_statements(act, "observation"):
            cc = concept(child(obs, "value"), ctx.narrative)
            if cc:
                reasons.append(cc)
    for obs in nested_statements(el, "observation", "2.16.840.1.113883.10.20.22.4.19"):
        cc = concept(child(obs, "value"), ctx.narrative)
        if cc:
            reasons.append(cc)
    set_nonempty(out, "reasonCode", reasons)
    locations = []
    for participant in children(el, "participant"):
        role = child(participant, "participantRole")
        name = text_of(child(role, "playingEntity", "name"))
        if name:
            locations.append({"location": {"display": name}})
    set_nonempty(out, "location", locations)
    yield out


# Intervention Act (…4.131) and Planned Intervention Act (…4.146): a wrapper coded only
# "Intervention" around the planned encounters, medications and procedures themselves.
_INTERVENTION_ACTS = frozenset(
    {"2.16.840.1.113883.10.20.22.4.131", "2.16.840.1.113883.10.20.22.4.146"}
)
# Entry Reference (…4.122): points at an entry written elsewhere (a goal), says nothing itself.
_ENTRY_REFERENCE = "2.16.840.1.113883.10.20.22.4.122"


def _intervention_steps(el: etree._Element) -> list[etree._Element]:
    if not template_roots(el) & _INTERVENTION_ACTS:
        return []
    steps = []
    for rel in children(el, "entryRelationship"):
        inner = clinical_statement(rel)
        if inner is not None and _ENTRY_REFERENCE not in template_roots(inner):
            steps.append(inner)
    return steps


def plan_of_care(el: etree._Element, ctx: Context) -> Iterator[dict[str, Any]]:
    steps = _intervention_steps(el)
    if steps:
        for step in steps:
            yield from plan_of_care(step, ctx)
        return
    mood = el.get("moodCode", "")
    code = titled(concept(child(el, "code"), ctx.narrative), el, ctx) or text_concept(
        statement_text(el, ctx)
    )
    times = effective_times(el)
    when = time_of(times[0]) if times else None
    if mood == "GOL" or "2.16.840.1.113883.10.20.22.4.121" in template_roots(el):
        out = resource_base("Goal", el, ctx)
        out["lifecycleStatus"] = "cancelled" if negated(el) else "active"
        out["description"] = code or {"text": "goal"}
        out["subject"] = ctx.patient_ref
        set_nonempty(out, "startDate", when[:10] if when else None)
        target = value_fields(child(el, "value"), ctx.narrative, prefix="detail")
        if target:
            out["target"] = [target]
        yield out
        return
    if el.tag == v("substanceAdministration"):
        yield medication_request(el, ctx, when)
        return
    out = resource_base("ServiceRequest", el, ctx)
    out["status"] = "revoked" if negated(el) else "active"
    out["intent"] = "proposal" if mood == "PRP" else "plan"
    set_nonempty(out, "code", code)
    out["subject"] = ctx.patient_ref
    set_nonempty(out, "occurrenceDateTime", when)
    set_nonempty(out, "note", [{"text": t} for t in [statement_text(el, ctx)] if t])
    yield out
