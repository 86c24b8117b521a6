"""C-CDA problem and allergy entries (each usually inside a concern act) as FHIR R4 Condition and
AllergyIntolerance dicts."""

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
)
from phr_desktop.interop.ccda.values import (
    child,
    concept,
    effective_times,
    period_of,
    text_of,
    time_of,
    v,
)

_CLINICAL = "http://terminology.hl7.org/CodeSystem/condition-clinical"
_ALLERGY_CLINICAL = "http://terminology.hl7.org/CodeSystem/allergyintolerance-clinical"


def problems(el: etree._Element, ctx: Context) -> Iterator[dict[str, Any]]:
    observations = nested_statements(el, "observation", "2.16.840.1.113883.10.20.22.4.4") or [
        o for o in nested_statements(el, "observation")
    ]
    if el.tag == v("observation"):
        observations = [el]
    concern_status = status_code(el)
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
        status = _problem_status(obs, concern_status, ctx)
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


def _problem_status(obs: etree._Element, concern_status: str | None, ctx: Context) -> str | None:
    for status_obs in nested_statements(obs, "observation", "2.16.840.1.113883.10.20.22.4.6"):
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


def allergies(el: etree._Element, ctx: Context) -> Iterator[dict[str, Any]]:
    observations = nested_statements(
        el, "observation", "2.16.840.1.113883.10.20.22.4.7"
    ) or nested_statements(el, "observation")
    if el.tag == v("observation"):
        observations = [el]
    for obs in observations or [el]:
        out = resource_base("AllergyIntolerance", obs, ctx)
        entity = child(obs, "participant", "participantRole", "playingEntity")
        code = concept(child(entity, "code"), ctx.narrative)
        if code is None and entity is not None:
            code = text_concept(text_of(child(entity, "name")))
        if code is None:
            code = concept(child(obs, "value"), ctx.narrative)
        set_nonempty(out, "code", code or text_concept(statement_text(obs, ctx)))
        out["patient"] = ctx.patient_ref
        # As for problems: the concern's author/time is when the allergy was recorded.
        set_nonempty(out, "recordedDate", time_of(child(el, "author", "time")))
        status = "active" if status_code(el) in ("active", None) else "resolved"
        for status_obs in nested_statements(obs, "observation", "2.16.840.1.113883.10.20.22.4.28"):
            words = str(concept(child(status_obs, "value"), ctx.narrative) or "").lower()
            status = (
                "inactive" if "inactive" in words else "resolved" if "resolved" in words else status
            )
        out["clinicalStatus"] = {"coding": [{"system": _ALLERGY_CLINICAL, "code": status}]}
        if negated(obs):
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
