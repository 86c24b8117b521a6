"""The C-CDA header's patient (recordTarget/patientRole) as a FHIR R4 Patient, with race and
ethnicity as the US Core extensions (ombCategory, detailed, text)."""

from __future__ import annotations

from typing import Any

from lxml import etree

from phr_desktop.interop.ccda.values import (
    attr,
    child,
    children,
    identifiers,
    resource_id,
    text_of,
    time_of,
    v,
)

US_CORE = "http://hl7.org/fhir/us/core/StructureDefinition/"
RACE = US_CORE + "us-core-race"
ETHNICITY = US_CORE + "us-core-ethnicity"
CDC_RACE_ETHNICITY = "urn:oid:2.16.840.1.113883.6.238"
NULL_FLAVOR = "http://terminology.hl7.org/CodeSystem/v3-NullFlavor"
SDTC = "urn:hl7-org:sdtc"  # sdtc:raceCode / sdtc:ethnicGroupCode carry the second and later ones
# The CDC Race & Ethnicity code system, by OID and by its HL7 v2 mnemonic (eHealth exchange HIEs).
_CDC_SYSTEMS = frozenset({"2.16.840.1.113883.6.238", "CDCREC"})
# OMB categories: US Core's ombCategory; other CDC codes are "detailed".
_OMB_RACE = {
    "1002-5": "American Indian or Alaska Native",
    "2028-9": "Asian",
    "2054-5": "Black or African American",
    "2076-8": "Native Hawaiian or Other Pacific Islander",
    "2106-3": "White",
}
_OMB_ETHNICITY = {"2135-2": "Hispanic or Latino", "2186-5": "Not Hispanic or Latino"}
# "Asked but no answer" says something; UNK (which our own export writes when nothing is known),
# NI, NASK and the like say nothing, so they make no extension.
_NULL_FLAVORS_KEPT = {"ASKU": "Asked but no answer"}
_GENDER = {"M": "male", "F": "female", "UN": "other", "UNK": "unknown"}


def patient_resource(doc: etree._Element, meta: dict[str, Any]) -> dict[str, Any]:
    """The document's recordTarget as a FHIR Patient (an empty one when there is none)."""
    role = child(doc, "recordTarget", "patientRole")
    if role is None:
        role = etree.Element(v("patientRole"))
    person = child(role, "patient")
    out: dict[str, Any] = {
        "resourceType": "Patient",
        "id": resource_id("Patient", role),
        "meta": meta,
    }
    ids = identifiers(role)
    if ids:
        out["identifier"] = ids
    names = []
    for name in children(person, "name"):
        item: dict[str, Any] = {}
        family = text_of(child(name, "family"))
        given = [g for g in (text_of(el) for el in children(name, "given")) if g]
        if family:
            item["family"] = family
        if given:
            item["given"] = given
        suffix = [s for s in (text_of(el) for el in children(name, "suffix")) if s]
        if suffix:
            item["suffix"] = suffix
        if not item and text_of(name):
            item["text"] = text_of(name)
        if item:
            names.append(item)
    if names:
        out["name"] = names
    gender = attr(child(person, "administrativeGenderCode"), "code")
    if gender:
        out["gender"] = _GENDER.get(gender.upper(), "unknown")
    birth = time_of(child(person, "birthTime"))
    if birth:
        out["birthDate"] = birth[:10]
    out.update(_deceased(person))
    telecoms = []
    for tel in children(role, "telecom"):
        value = attr(tel, "value")
        if value:
            system = "email" if value.startswith("mailto:") else "phone"
            telecoms.append({"system": system, "value": value.split(":", 1)[-1]})
    if telecoms:
        out["telecom"] = telecoms
    addresses = []
    for addr in children(role, "addr"):
        item = {}
        lines = [t for t in (text_of(el) for el in children(addr, "streetAddressLine")) if t]
        if lines:
            item["line"] = lines
        for tag, key in (("city", "city"), ("state", "state"), ("postalCode", "postalCode")):
            found = text_of(child(addr, tag))
            if found:
                item[key] = found
        if item:
            addresses.append(item)
    if addresses:
        out["address"] = addresses
    extensions = [
        e
        for e in (
            _race_or_ethnicity(person, "raceCode", RACE, _OMB_RACE, 5),
            _race_or_ethnicity(person, "ethnicGroupCode", ETHNICITY, _OMB_ETHNICITY, 1),
        )
        if e
    ]
    if extensions:
        out["extension"] = extensions
    return out


def _deceased(person: etree._Element | None) -> dict[str, Any]:
    """sdtc:deceasedTime as Patient.deceasedDateTime, else sdtc:deceasedInd as deceasedBoolean."""
    if person is None:
        return {}
    when = time_of(person.find(f"{{{SDTC}}}deceasedTime"))
    if when:
        return {"deceasedDateTime": when}
    flag = attr(person.find(f"{{{SDTC}}}deceasedInd"), "value")
    return {"deceasedBoolean": flag == "true"} if flag in ("true", "false") else {}


def _cdc_codings(el: etree._Element) -> list[dict[str, str]]:
    """The element's own code and its translations that are CDC race & ethnicity codes."""
    out = []
    for coded in [el, *children(el, "translation")]:
        code, system = attr(coded, "code"), attr(coded, "codeSystem")
        if code and system in _CDC_SYSTEMS:
            coding = {"system": CDC_RACE_ETHNICITY, "code": code}
            display = attr(coded, "displayName")
            if display:
                coding["display"] = display
            out.append(coding)
    return out


def _race_or_ethnicity(
    person: etree._Element | None, tag: str, url: str, omb: dict[str, str], omb_max: int
) -> dict[str, Any] | None:
    """raceCode + sdtc:raceCode (or ethnicGroupCode + sdtc:ethnicGroupCode) as one US Core
    extension: OMB codes as ombCategory (at most `omb_max`), other CDC codes as detailed."""
    if person is None:
        return None
    elements = [*children(person, tag), *person.iterfind(f"{{{SDTC}}}{tag}")]
    categories: list[dict[str, str]] = []
    detailed: list[dict[str, str]] = []
    words: list[str] = []
    for el in elements:
        codings = _cdc_codings(el)
        flavor = (attr(el, "nullFlavor") or "").upper()
        if codings:
            for coding in codings:
                coding.setdefault("display", omb.get(coding["code"], coding["code"]))
                (categories if coding["code"] in omb else detailed).append(coding)
            said = [c["display"] for c in codings]
        elif flavor in _NULL_FLAVORS_KEPT:
            meaning = _NULL_FLAVORS_KEPT[flavor]
            categories.append({"system": NULL_FLAVOR, "code": flavor, "display": meaning})
            said = [meaning]
        else:  # a local code only, or nullFlavor OTH: what the document says in words
            said = [text_of(child(el, "originalText")) or ""]
        for word in said:
            if word and word not in words:
                words.append(word)
    categories = _unique(categories)[:omb_max]
    detailed = _unique(detailed)
    if not (categories or detailed or words):
        return None
    parts: list[dict[str, Any]] = [{"url": "ombCategory", "valueCoding": c} for c in categories]
    parts += [{"url": "detailed", "valueCoding": c} for c in detailed]
    parts.append({"url": "text", "valueString": ", ".join(words)})
    return {"url": url, "extension": parts}


def _unique(codings: list[dict[str, str]]) -> list[dict[str, str]]:
    seen: set[tuple[str, str]] = set()
    out = []
    for coding in codings:
        key = (coding["system"], coding["code"])
        if key not in seen:
            seen.add(key)
            out.append(coding)
    return out
