"""The clinical facts of a profile, as comparable values: what a C-CDA round trip must keep.

One fact per record of the kinds the CCD carries (problems, allergies, medications,
immunizations, procedures, encounters, results, vital signs), read from the stored FHIR
resources: its codes (translations included), dates, value and unit, status, negation, and what
the kind adds (reactions and severity; dose, route and frequency; reference range and
interpretation). Identifiers and narrative are left out: a round trip may renumber them.
"""

from __future__ import annotations

import base64
from collections import Counter
from typing import Any

import orjson

from phr_desktop.domain.codes import canonical_system, codes_of
from phr_desktop.services.session import Session

Fact = tuple[Any, ...]
GENERIC_NOTE = ("http://loinc.org", "34109-9")
KINDS = (
    "Condition",
    "AllergyIntolerance",
    "MedicationStatement",
    "MedicationRequest",
    "Immunization",
    "Procedure",
    "Encounter",
    "Observation",
    "DiagnosticReport",
)


def codes(concept: Any) -> tuple[tuple[str, str], ...]:
    return tuple(
        sorted({(canonical_system(c.system) or "", c.code) for c in codes_of(concept) if c.code})
    )


def _status(resource: dict[str, Any], name: str) -> str | None:
    found = codes(resource.get(name))
    return found[0][1] if found else None


def _number(value: Any) -> float | None:
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


def _quantity(q: Any) -> tuple[float | None, str | None] | None:
    if not isinstance(q, dict):
        return None
    return (_number(q.get("value")), q.get("code") or q.get("unit"))


def _observation_value(res: dict[str, Any]) -> Any:
    if "valueQuantity" in res:
        return ("Quantity", _quantity(res["valueQuantity"]), res["valueQuantity"].get("comparator"))
    if "valueCodeableConcept" in res:
        return ("CodeableConcept", codes(res["valueCodeableConcept"]))
    for key in ("valueString", "valueInteger", "valueBoolean", "valueDateTime"):
        if key in res:
            return (key, str(res[key]))
    if "valueRange" in res:
        rng = res["valueRange"]
        return ("Range", _quantity(rng.get("low")), _quantity(rng.get("high")))
    return None


def _ranges(res: dict[str, Any]) -> tuple[Any, ...]:
    return tuple(
        sorted(
            (
                str(_quantity(r.get("low"))),
                str(_quantity(r.get("high"))),
                r.get("text") or "",
            )
            for r in res.get("referenceRange") or ()
            if isinstance(r, dict)
        )
    )


def _dosage(res: dict[str, Any]) -> tuple[Any, ...]:
    dosages = res.get("dosage") or res.get("dosageInstruction") or ()
    first = dosages[0] if dosages and isinstance(dosages[0], dict) else {}
    rate = (first.get("doseAndRate") or [{}])[0]
    repeat = (first.get("timing") or {}).get("repeat") or {}
    frequency = tuple((k, repeat[k]) for k in ("frequency", "period", "periodUnit") if k in repeat)
    return (_quantity(rate.get("doseQuantity")), codes(first.get("route")), frequency)


def fact(res: dict[str, Any]) -> Fact | None:
    """The comparable fact of one resource; None for a resource the CCD does not carry."""
    kind = res.get("resourceType")
    if kind == "Condition":
        return (
            kind,
            codes(res.get("code")),
            res.get("onsetDateTime"),
            res.get("abatementDateTime"),
            _status(res, "clinicalStatus"),
            _status(res, "verificationStatus") == "refuted",
        )
    if kind == "AllergyIntolerance":
        reactions = tuple(
            sorted(
                (codes(m), r.get("severity") or "")
                for r in res.get("reaction") or ()
                for m in r.get("manifestation") or ()
            )
        )
        return (
            kind,
            codes(res.get("code")),
            res.get("onsetDateTime"),
            _status(res, "clinicalStatus"),
            _status(res, "verificationStatus") == "refuted",
            reactions,
        )
    if kind in ("MedicationStatement", "MedicationRequest"):
        period = res.get("effectivePeriod") or {}
        return (
            "Medication",
            codes(res.get("medicationCodeableConcept")),
            period.get("start") or res.get("effectiveDateTime"),
            period.get("end"),
            res.get("status"),
            res.get("status") in ("not-taken", "cancelled"),
            _dosage(res),
        )
    if kind == "Immunization":
        return (
            kind,
            codes(res.get("vaccineCode")),
            res.get("occurrenceDateTime"),
            res.get("status"),
            res.get("status") == "not-done",
            str(_quantity(res.get("doseQuantity"))),
            res.get("lotNumber"),
        )
    if kind == "Procedure":
        period = res.get("performedPeriod") or {}
        return (
            kind,
            codes(res.get("code")),
            period.get("start") or res.get("performedDateTime"),
            period.get("end"),
            res.get("status"),
            res.get("status") == "not-done",
        )
    if kind == "Encounter":
        period = res.get("period") or {}
        type_codes = tuple(sorted({c for t in res.get("type") or () for c in codes(t)}))
        return (kind, type_codes, period.get("start"), period.get("end"), res.get("status"))
    if kind == "Observation":
        category = tuple(sorted({c for cat in res.get("category") or () for c in codes(cat)}))
        if ("http://terminology.hl7.org/CodeSystem/observation-category", "social-history") in (
            category
        ):
            return None  # social history is not among the round trip's kinds
        period = res.get("effectivePeriod") or {}
        return (
            kind,
            category,
            codes(res.get("code")),
            res.get("effectiveDateTime") or period.get("start"),
            str(_observation_value(res)),
            res.get("status"),
            _ranges(res),
            tuple(sorted({c for i in res.get("interpretation") or () for c in codes(i)})),
        )
    if kind == "DiagnosticReport":
        return (
            kind,
            codes(res.get("code")),
            res.get("effectiveDateTime"),
            res.get("status"),
            len({str(r.get("reference")) for r in res.get("result") or () if isinstance(r, dict)}),
        )
    return None


def profile_facts(session: Session) -> Counter[Fact]:
    """Every fact of the profile's stored resources, counted (a repeated fact counts twice)."""
    out: Counter[Fact] = Counter()
    placeholders = ",".join("?" * len(KINDS))
    rows = session.vault.conn.execute(
        f"SELECT body FROM raw_resources WHERE resource_type IN ({placeholders})", KINDS
    )
    for (body,) in rows:
        found = fact(orjson.loads(body))
        if found is not None:
            out[found] += 1
    return out


def shown_facts(session: Session) -> Counter[Fact]:
    """The facts the profile shows: one fact once, so an entry a document repeats (the same
    procedure twice, say) counts once, as the timeline and every export show it."""
    out: Counter[Fact] = Counter()
    placeholders = ",".join("?" * len(KINDS))
    rows = session.vault.conn.execute(
        "SELECT w.body FROM raw_resources w JOIN records r ON r.raw_id = w.id "
        f"WHERE w.resource_type IN ({placeholders}) AND r.same_as IS NULL",
        KINDS,
    )
    for (body,) in rows:
        found = fact(orjson.loads(body))
        if found is not None:
            out[found] += 1
    return out


def difference(before: Counter[Fact], after: Counter[Fact], limit: int = 12) -> str:
    """What was lost and what was added, a few of each, for an assertion message."""
    lost, added = before - after, after - before
    lines = [f"{sum(lost.values())} facts lost, {sum(added.values())} added"]
    lines += [f"  lost:  {f}" for f in list(lost)[:limit]]
    lines += [f"  added: {f}" for f in list(added)[:limit]]
    return "\n".join(lines)


def _attachment_texts(resource: dict[str, Any]) -> list[str]:
    texts = []
    for content in resource.get("content") or ():
        attachment = content.get("attachment") if isinstance(content, dict) else None
        if isinstance(attachment, dict) and isinstance(attachment.get("data"), str):
            text = base64.b64decode(attachment["data"]).decode("utf-8", errors="replace")
            # Blank lines between a document's sections and runs of spaces are layout, not text
            # (a narrative block collapses whitespace, as a browser does).
            lines = (" ".join(line.split()) for line in text.splitlines())
            texts.append("\n".join(line for line in lines if line))
    return texts


def note_facts(session: Session) -> Counter[Fact]:
    """The notes of a profile: (title, type codes, text) of each DocumentReference that holds
    text; the text of a kept source document counts under the title "Source document: …"."""
    out: Counter[Fact] = Counter()
    rows = session.vault.conn.execute(
        "SELECT body FROM raw_resources WHERE resource_type = 'DocumentReference'"
    )
    for (body,) in rows:
        resource = orjson.loads(body)
        texts = _attachment_texts(resource)
        if not texts:
            continue
        title = str(resource.get("description") or "")
        kept_file = any(
            isinstance(c, dict) and (c.get("attachment") or {}).get("url")
            for c in resource.get("content") or ()
        )
        if kept_file:
            title = f"Source document: {title}"
        # LOINC 34109-9 "Note" is what a note of no known type is written as (a Notes Section
        # needs a code): it says nothing, before or after.
        note_types = tuple(c for c in codes(resource.get("type")) if c != GENERIC_NOTE)
        out[(title, note_types, "\n\n".join(texts))] += 1
    return out
