"""Code systems by URI, and reading FHIR CodeableConcepts into `Code` values."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import orjson

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


# What codes_and_display found, by the concept's content: an import meets the same few
# thousand concepts (a test's code, a category, a unit of care) over and over. Bounded, and
# cleared when full: a vault of a million different concepts still keeps only the latest.
_CONCEPTS: dict[bytes, tuple[tuple[Code, ...], str]] = {}
_CONCEPTS_KEPT = 20_000
_NO_CONCEPT: tuple[tuple[Code, ...], str] = ((), "")
_json_text = orjson.dumps


def concept_key(concept: object) -> bytes | None:
    """A key for what `codes_of` and `display_of` read of a concept: its JSON text. Equal
    texts are concepts of equal values and types (1, 1.0, true and "1" are written apart; a
    NaN is written as null, and both are read as absent), so they give the same codes and
    display; one C call, where a tuple of its parts took Python code per coding and hashed
    every fresh string. None for a concept that cannot be written (a Decimal, an integer
    beyond 64 bits, nesting past orjson's limit): read, not remembered."""
    try:
        return _json_text(concept)
    except TypeError:  # orjson.JSONEncodeError is one
        return None


def codes_and_display(concept: object) -> tuple[tuple[Code, ...], str]:
    """`codes_of(concept)` and `display_of(concept)` together, remembered by the concept's
    content. The codes tuple is then shared by every record of that concept, so what is
    derived from it can be remembered by identity (vault/prepared.py, domain/same_fact.py)."""
    if concept is None:  # an absent element: no codes, no text
        return _NO_CONCEPT
    if type(concept) is dict:
        key = concept_key(concept)
        found = _CONCEPTS.get(key) if key is not None else None
        if found is not None:
            return found
        found = codes_of(concept), display_of(concept)
        if key is not None:
            if len(_CONCEPTS) >= _CONCEPTS_KEPT:
                _CONCEPTS.clear()
            _CONCEPTS[key] = found
        return found
    return codes_of(concept), display_of(concept)


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
