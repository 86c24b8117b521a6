"""The emergency summary as a compact FHIR R4 document Bundle, sized to fit one QR code.

Items carry a priority; when the minified JSON is too big for a QR code at medium error
correction, the lowest-priority items are dropped and named, so the page can say so.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

import orjson
import segno

from phr_desktop.domain.records import Code
from phr_desktop.interop.emergency.facts import EmergencyFacts, Item, Measurement, allergy_lines

_NS = uuid.UUID("5f0c3c52-8a0e-4a36-9a53-7d1c7a6f2b10")  # stable ids: same facts, same QR
_LOINC = "http://loinc.org"
_SNOMED = "http://snomed.info/sct"
# Priorities: 0 is never dropped; higher numbers go first when space runs out.
_SECTIONS = {
    "problems": "Problems",
    "medications": "Medications",
    "allergies": "Allergies",
    "results": "Results",
}


@dataclass(frozen=True)
class _Entry:
    section: str
    priority: int
    label: str  # how the page names it if dropped
    resource: dict[str, Any]


@dataclass(frozen=True)
class QrPayload:
    text: str  # minified FHIR JSON, exactly what the QR code carries
    qr: segno.QRCode
    dropped: tuple[str, ...]  # labels of items left out for size


def _urn(*parts: str) -> str:
    return f"urn:uuid:{uuid.uuid5(_NS, '|'.join(parts))}"


def _concept(text: str, codes: tuple[Code, ...] = ()) -> dict[str, Any]:
    """Text plus one coding (SNOMED CT preferred): every byte counts inside a QR code."""
    usable = sorted((c for c in codes if c.system and c.code), key=lambda c: c.system != _SNOMED)
    coding = [{"system": usable[0].system, "code": usable[0].code}] if usable else []
    return {"coding": coding, "text": text} if coding else {"text": text}


def _entries(facts: EmergencyFacts, patient_ref: str) -> list[_Entry]:
    subject = {"reference": patient_ref}
    out: list[_Entry] = []

    def condition(item: Item, priority: int, text: str) -> None:
        res: dict[str, Any] = {
            "resourceType": "Condition",
            "code": _concept(text, item.codes),
            "subject": subject,
        }
        out.append(_Entry("problems", priority, text, res))

    def medication(item: Item, priority: int) -> None:
        res: dict[str, Any] = {
            "resourceType": "MedicationStatement",
            "status": "active",
            "medicationCodeableConcept": _concept(item.text, item.codes),
            "subject": subject,
        }
        out.append(_Entry("medications", priority, item.text, res))

    def observation(m: Measurement, priority: int, label: str, code: str | None) -> None:
        codes = [{"system": _LOINC, "code": code}] if code else []
        res: dict[str, Any] = {
            "resourceType": "Observation",
            "status": "final",
            "code": {"coding": codes, "text": label} if codes else {"text": label},
            "valueQuantity": {"value": m.value, "unit": m.unit},
        }
        if m.date and m.date[:4].isdigit():
            res["effectiveDateTime"] = m.date
        out.append(_Entry("results", priority, f"{label} {m.text}", res))

    if facts.aatd is not None or facts.genotype:
        text = "Alpha-1 antitrypsin deficiency"
        if facts.genotype:
            text += f", {facts.genotype}"
        condition(facts.aatd or Item(text), 0, text)
    if facts.augmentation is not None:
        medication(facts.augmentation, 0)
    for allergy in allergy_lines(facts):  # "no known allergies" is a statement worth carrying
        res: dict[str, Any] = {
            "resourceType": "AllergyIntolerance",
            "code": _concept(allergy.text, allergy.codes),
            "patient": subject,
        }
        if allergy.detail:
            res["reaction"] = [{"manifestation": [{"text": allergy.detail}]}]
        out.append(_Entry("allergies", 0, f"Allergy: {allergy.text}", res))
    if facts.fev1_latest:
        observation(facts.fev1_latest, 1, "FEV1 (latest)", "20150-9")
    if facts.aat_latest:
        observation(facts.aat_latest, 1, "Alpha-1 antitrypsin (latest)", "1825-9")
    for med in facts.medications:
        medication(med, 2)
    if facts.fev1_baseline and facts.fev1_baseline != facts.fev1_latest:
        observation(facts.fev1_baseline, 3, "FEV1 (baseline)", "20150-9")
    for problem in facts.other_problems:
        condition(problem, 4, problem.text)
    return out


def _patient(facts: EmergencyFacts) -> dict[str, Any]:
    res: dict[str, Any] = {"resourceType": "Patient", "id": "p", "name": [{"text": facts.name}]}
    if facts.gender:
        res["gender"] = facts.gender
    if facts.birth_date:
        res["birthDate"] = facts.birth_date
    contacts = []
    for c in facts.emergency_contacts[:2]:
        contact: dict[str, Any] = {
            "relationship": [
                {
                    "coding": [
                        {"system": "http://terminology.hl7.org/CodeSystem/v2-0131", "code": "C"}
                    ]
                }
            ],
            "name": {"text": c.name},
        }
        if c.phones:
            contact["telecom"] = [{"system": "phone", "value": p} for p in c.phones]
        contacts.append(contact)
    if contacts:
        res["contact"] = contacts
    return res


def fhir_document(facts: EmergencyFacts, keep: int | None = None) -> tuple[bytes, list[str]]:
    """(minified document Bundle, labels of entries left out: all but the `keep` most
    important).

    Resources get short ids and relative references ("Patient/p") and no `fullUrl`:
    `urn:uuid:` addresses alone would double the size and push it past what a QR code holds.
    """
    entries = sorted(_entries(facts, "Patient/p"), key=lambda e: e.priority)  # stable
    keep = len(entries) if keep is None else keep
    kept, dropped = entries[:keep], [e.label for e in entries[keep:]]
    resources: list[dict[str, Any]] = []
    sections: dict[str, list[dict[str, str]]] = {}
    for i, e in enumerate(kept, start=1):
        resource = {"resourceType": e.resource["resourceType"], "id": f"e{i}"} | e.resource
        resources.append(resource)
        ref = f"{resource['resourceType']}/e{i}"
        sections.setdefault(e.section, []).append({"reference": ref})
    composition = {
        "resourceType": "Composition",
        "id": "c",
        "status": "final",
        "type": {"coding": [{"system": _LOINC, "code": "60591-5"}]},
        "subject": {"reference": "Patient/p"},
        "date": facts.generated_at,
        "author": [{"reference": "Patient/p"}],
        "title": "Emergency summary",
        "section": [
            {"title": title, "entry": sections[key]}
            for key, title in _SECTIONS.items()
            if key in sections  # an empty section is left out rather than spelled out
        ],
    }
    bundle = {
        "resourceType": "Bundle",
        "identifier": {"system": "urn:ietf:rfc:3986", "value": _urn("doc", facts.generated_at)},
        "type": "document",
        "timestamp": facts.generated_at,
        "entry": [
            {"resource": composition},
            {"resource": _patient(facts)},
            *({"resource": r} for r in resources),
        ],
    }
    return orjson.dumps(bundle), dropped


def qr_payload(facts: EmergencyFacts) -> QrPayload:
    """The fullest document that fits a QR code at error level M, dropping the least
    important entries one at a time."""
    keep = len(_entries(facts, "Patient/p"))
    while True:
        body, dropped = fhir_document(facts, keep)
        try:
            qr = segno.make(body, error="m", boost_error=False, micro=False, mode="byte")
        except segno.DataOverflowError:
            if keep == 0:
                raise
            keep -= 1
            continue
        return QrPayload(body.decode("utf-8"), qr, tuple(dropped))
