"""Code systems by URI, and reading FHIR CodeableConcepts into `Code` values."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from phr_desktop.domain.records import Code

LOINC = "http://loinc.org"
SNOMED = "http://snomed.info/sct"
ICD10 = "http://hl7.org/fhir/sid/icd-10"
ICD10_CM = "http://hl7.org/fhir/sid/icd-10-cm"
RXNORM = "http://www.nlm.nih.gov/research/umls/rxnorm"
CVX = "http://hl7.org/fhir/sid/cvx"
DICOM = "http://dicom.nema.org/resources/ontology/DCM"  # imaging modalities

SYSTEM_NAMES: dict[str, str] = {
    LOINC: "LOINC",
    SNOMED: "SNOMED CT",
    ICD10: "ICD-10",
    ICD10_CM: "ICD-10-CM",
    RXNORM: "RxNorm",
    CVX: "CVX",
    DICOM: "DICOM",
}

# Real EHR data names the same systems in older or OID forms; map them to the canonical URI.
_SYSTEM_ALIASES: dict[str, str] = {
    "urn:oid:2.16.840.1.113883.6.1": LOINC,
    "urn:oid:2.16.840.1.113883.6.96": SNOMED,
    "urn:oid:2.16.840.1.113883.6.90": ICD10_CM,
    "urn:oid:2.16.840.1.113883.6.3": ICD10,
    "urn:oid:2.16.840.1.113883.6.88": RXNORM,
    "urn:oid:2.16.840.1.113883.12.292": CVX,
    "http://snomed.info/sct/": SNOMED,
    "http://www.nlm.nih.gov/research/umls/rxnorm/": RXNORM,
    "http://hl7.org/fhir/sid/icd-10-us": ICD10_CM,
}

ICD10_SYSTEMS = frozenset({ICD10, ICD10_CM})


def canonical_system(system: object) -> str | None:
    if not isinstance(system, str) or not system:
        return None
    return _SYSTEM_ALIASES.get(system, system)


def codes_of(concept: object) -> tuple[Code, ...]:
    """All codings of a CodeableConcept (or a bare Coding), systems canonicalised."""
    if not isinstance(concept, dict):
        return ()
    codings = concept.get("coding") if "coding" in concept else [concept]
    out: list[Code] = []
    for coding in codings if isinstance(codings, list) else ():
        if not isinstance(coding, dict):
            continue
        code = coding.get("code")
        display = coding.get("display")
        out.append(
            Code(
                system=canonical_system(coding.get("system")),
                code=code if isinstance(code, str) else None,
                display=display if isinstance(display, str) else None,
            )
        )
    return tuple(out)


def display_of(concept: object, fallback: str = "") -> str:
    """The best human text for a CodeableConcept: its text, else a coding's display, else a code."""
    if not isinstance(concept, dict):
        return fallback
    text = concept.get("text")
    if isinstance(text, str) and text.strip():
        return text.strip()
    codings = concept.get("coding") if "coding" in concept else [concept]
    codings = [c for c in codings if isinstance(c, dict)] if isinstance(codings, list) else []
    for coding in codings:
        display = coding.get("display")
        if isinstance(display, str) and display.strip():
            return display.strip()
    for coding in codings:
        code = coding.get("code")
        if isinstance(code, str) and code:
            system = canonical_system(coding.get("system"))
            return f"{SYSTEM_NAMES.get(system or '', system or 'code')} {code}"
    return fallback


def codes_text(codes: Iterable[Code]) -> str:
    """Searchable text for codes: displays and the bare codes."""
    parts: list[str] = []
    for c in codes:
        if c.display:
            parts.append(c.display)
        if c.code:
            parts.append(c.code)
    return " ".join(dict.fromkeys(parts))


def first_of(items: Any) -> Any:
    """FHIR 0..* elements: the first item of a list, or None."""
    if isinstance(items, list) and items:
        return items[0]
    return None
