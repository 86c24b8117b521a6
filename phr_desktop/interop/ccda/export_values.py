"""CDA data types for the C-CDA exporter: timestamps with their precision, coded values, ids, PQ.

Every string that reaches the XML passes `clean_text` first, so control characters that XML 1.0
cannot carry never make lxml refuse the document; lxml escapes the rest.
"""

from __future__ import annotations

import re
import uuid
from typing import Any

from lxml import etree

from phr_desktop.domain.codes import CVX, ICD10, ICD10_CM, LOINC, RXNORM, SNOMED, canonical_system
from phr_desktop.domain.records import Code, DatePrecision, PartialDate

V3 = "urn:hl7-org:v3"
XSI = "http://www.w3.org/2001/XMLSchema-instance"
SDTC = "urn:hl7-org:sdtc"  # HL7's CDA extensions C-CDA uses (sdtc:raceCode for a second race)
XSI_TYPE = f"{{{XSI}}}type"

UCUM = "http://unitsofmeasure.org"
UCUM_OID = "2.16.840.1.113883.6.8"
LOINC_OID = "2.16.840.1.113883.6.1"
SNOMED_OID = "2.16.840.1.113883.6.96"
ACT_CODE_OID = "2.16.840.1.113883.5.4"
INTERPRETATION_OID = "2.16.840.1.113883.5.83"

# FHIR system URI → (OID, name): the code systems C-CDA documents name, under the URIs FHIR R4
# and US Core give them (the C-CDA importer reads these OIDs back to the same URIs). A system
# written `urn:oid:…` needs no entry: its OID is in its name.
SYSTEM_OIDS: dict[str, tuple[str, str]] = {
    LOINC: (LOINC_OID, "LOINC"),
    SNOMED: (SNOMED_OID, "SNOMED CT"),
    ICD10_CM: ("2.16.840.1.113883.6.90", "ICD-10-CM"),
    ICD10: ("2.16.840.1.113883.6.3", "ICD-10"),
    RXNORM: ("2.16.840.1.113883.6.88", "RxNorm"),
    CVX: ("2.16.840.1.113883.12.292", "CVX"),
    "http://www.ama-assn.org/go/cpt": ("2.16.840.1.113883.6.12", "CPT-4"),
    "http://hl7.org/fhir/sid/icd-9-cm": ("2.16.840.1.113883.6.103", "ICD-9-CM"),
    "http://www.cms.gov/Medicare/Coding/ICD10": ("2.16.840.1.113883.6.4", "ICD-10-PCS"),
    "http://hl7.org/fhir/sid/ndc": ("2.16.840.1.113883.6.69", "NDC"),
    "http://www.cms.gov/Medicare/Coding/HCPCSReleaseCodeSets": (
        "2.16.840.1.113883.6.285",
        "HCPCS",
    ),
    "http://nucc.org/provider-taxonomy": ("2.16.840.1.113883.6.101", "NUCC"),
    "http://hl7.org/fhir/sid/mvx": ("2.16.840.1.113883.12.227", "MVX"),
    "http://unitsofmeasure.org": ("2.16.840.1.113883.6.8", "UCUM"),
    # DICOM Controlled Terminology: an imaging study's modality ("CT").
    "http://dicom.nema.org/resources/ontology/DCM": ("1.2.840.10008.2.16.4", "DCM"),
    "http://terminology.hl7.org/CodeSystem/v3-ObservationInterpretation": (
        INTERPRETATION_OID,
        "ObservationInterpretation",
    ),
    "http://terminology.hl7.org/CodeSystem/v3-ActCode": (ACT_CODE_OID, "ActCode"),
    "http://terminology.hl7.org/CodeSystem/v3-ActClass": ("2.16.840.1.113883.5.6", "ActClass"),
    "http://terminology.hl7.org/CodeSystem/v3-ActReason": ("2.16.840.1.113883.5.8", "ActReason"),
    "http://terminology.hl7.org/CodeSystem/v3-RoleCode": ("2.16.840.1.113883.5.111", "RoleCode"),
    "http://terminology.hl7.org/CodeSystem/v3-AdministrativeGender": (
        "2.16.840.1.113883.5.1",
        "AdministrativeGender",
    ),
    "http://terminology.hl7.org/CodeSystem/v3-RouteOfAdministration": (
        "2.16.840.1.113883.5.112",
        "RouteOfAdministration",
    ),
}

# Namespace for ids made from a FHIR system URI or a resource id (uuid5 keeps them stable).
_ID_NAMESPACE = uuid.UUID("5b0c3f64-6d1e-4d83-9a6f-1f1a3c9f6a10")
_XML_UNSAFE = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")
_OID_RE = re.compile(r"^[0-2](\.(0|[1-9][0-9]*))+$")
_UUID_RE = re.compile(r"^[0-9A-Fa-f]{8}(?:-[0-9A-Fa-f]{4}){3}-[0-9A-Fa-f]{12}$")
_UCUM_UNIT = re.compile(r"^\S+$")
_WHITESPACE = re.compile(r"\s")
# A CDA uid: an OID, a UUID, or an HL7-reserved RUID (some vendors write codeSystem="ICD9").
_CDA_UID_RE = re.compile(
    r"^(?:[0-2](\.(0|[1-9][0-9]*))*|[0-9a-zA-Z]{8}(?:-[0-9a-zA-Z]{4}){3}-[0-9a-zA-Z]{12}"
    r"|[A-Za-z][A-Za-z0-9-]*)$"
)


def clean_text(value: object) -> str:
    return _XML_UNSAFE.sub("", str(value)) if value is not None else ""


def sub(parent: etree._Element, tag: str, text: str | None = None, **attrs: str | None) -> Any:
    """A child in the v3 namespace; None attributes are left out."""
    element = etree.SubElement(parent, f"{{{V3}}}{tag}")
    for key, val in attrs.items():
        if val is not None:
            name = XSI_TYPE if key == "xsi_type" else key
            element.set(name, clean_text(val))
    if text:
        element.text = clean_text(text)
    return element


def template(parent: etree._Element, root: str, extension: str | None = None) -> None:
    sub(parent, "templateId", root=root, extension=extension)


def stable_uid(*parts: str) -> str:
    """A UUID (a valid CDA uid) that is the same each time for the same parts."""
    return str(uuid.uuid5(_ID_NAMESPACE, "|".join(parts))).upper()


def _uid(text: str | None) -> str | None:
    """An OID or UUID as an II root ("urn:oid:…"/"urn:uuid:…" or bare), None for anything
    else. CDA writes a UUID in upper case, 8-4-4-4-12 (CDA uuid data type)."""
    if not text:
        return None
    scheme, bare = "", text
    for prefix in ("urn:oid:", "urn:uuid:"):
        if text.startswith(prefix):
            scheme, bare = prefix, text[len(prefix) :]
    if scheme != "urn:uuid:" and _OID_RE.match(bare):
        return bare
    if scheme != "urn:oid:" and _UUID_RE.match(bare):
        return bare.upper()
    return None


def system_root(system: str | None) -> str:
    """The II root for a FHIR identifier or code system: its OID or UUID when it names one
    (as imported C-CDA roots are), else a stable UUID made from the system URI."""
    return _uid(system) or stable_uid("system", system or "unknown")


def identifier_ii(identifier: dict[str, Any]) -> dict[str, str | None]:
    """A FHIR Identifier as II attributes. One whose value is itself a URI naming an OID or
    UUID (system urn:ietf:rfc:3986, as an `<id root="…"/>` without extension imports) is a root."""
    value = str(identifier.get("value") or "")
    system = identifier.get("system")
    if system == "urn:ietf:rfc:3986" and value.startswith(("urn:oid:", "urn:uuid:")):
        root = _uid(value)
        if root:
            return {"root": root, "extension": None}
    return {"root": system_root(system), "extension": value}


def ts_value(date: PartialDate | str | None) -> str | None:
    """A FHIR date with its precision as a CDA TS: YYYY, YYYYMM, YYYYMMDD, YYYYMMDDHHMM[SS]+ZZZZ."""
    if date is None:
        return None
    text = date.text if isinstance(date, PartialDate) else date
    precision = date.precision if isinstance(date, PartialDate) else None
    text = text.strip()
    if precision is None:
        precision = {4: DatePrecision.YEAR, 7: DatePrecision.MONTH, 10: DatePrecision.DAY}.get(
            len(text), DatePrecision.INSTANT
        )
    if precision is not DatePrecision.INSTANT:
        return text.replace("-", "")
    day, _, rest = text.partition("T")
    match = re.match(r"^(\d{2}):(\d{2})(?::(\d{2})(\.\d+)?)?(Z|[+-]\d{2}:\d{2})?$", rest)
    if not match:
        return day.replace("-", "")
    hours, minutes, seconds, fraction, zone = match.groups()
    out = day.replace("-", "") + hours + minutes
    if seconds:
        out += seconds + (fraction or "")
    if zone:
        out += "+0000" if zone == "Z" else zone.replace(":", "")
    return out


def time_element(
    parent: etree._Element,
    tag: str,
    start: PartialDate | str | None,
    end: PartialDate | str | None = None,
    *,
    interval: bool = True,
    xsi_type: str | None = None,
    ended: bool = False,
) -> None:
    """effectiveTime as an interval (low/high) or a point; nullFlavor UNK when unknown.

    `ended` says the interval is over, so it gets a high even when its end date is unknown.
    """
    low, high = ts_value(start), ts_value(end)
    if not interval:
        sub(parent, tag, value=low, nullFlavor=None if low else "UNK", xsi_type=xsi_type)
        return
    element = sub(parent, tag, xsi_type=xsi_type)
    sub(element, "low", value=low, nullFlavor=None if low else "UNK")
    if high or ended:
        sub(element, "high", value=high, nullFlavor=None if high else "UNK")


def known_codes(codes: tuple[Code, ...] | list[Code]) -> list[Code]:
    """The codes in a system C-CDA names by a well-known OID (SYSTEM_OIDS): the ones a
    template that binds its code to LOINC, SNOMED CT… can carry as its own code."""
    return [c for c in codes if c.code and canonical_system(c.system) in SYSTEM_OIDS]


def code_system(system: str | None) -> tuple[str | None, str | None]:
    """(codeSystem, codeSystemName) for a FHIR coding system.

    Every coding is written, whatever its system: a well-known OID by name; an OID, UUID or
    RUID the system names itself (`urn:oid:…`, as the importer keeps a local or unlisted code
    system); for any other URI a stable UUID, with the URI as the name so a reader sees it.
    A coding with no system is written with none.
    """
    canonical = canonical_system(system)
    if canonical is None:
        return None, None
    if canonical in SYSTEM_OIDS:
        return SYSTEM_OIDS[canonical]
    for prefix in ("urn:oid:", "urn:uuid:"):
        if canonical.startswith(prefix):
            bare = canonical[len(prefix) :]
            if _CDA_UID_RE.match(bare):
                return bare, None  # as the source wrote it: the importer reads it back so
    return stable_uid("system", canonical), canonical


def coded(
    parent: etree._Element,
    tag: str,
    codes: tuple[Code, ...] | list[Code],
    text: str | None = None,
    *,
    xsi_type: str | None = None,
    translations_only: bool = False,
) -> Any:
    """A CD/CE: the first coding as the code, every other one as a translation, text kept.

    `translations_only` writes every code as a translation of nullFlavor OTH, for a template
    whose own code must come from a system none of the codes is in.
    """
    # A CDA code is one token (cs: no whitespace inside); a "code" with spaces in it (a local
    # system's label) cannot be written as one, and its words stay in originalText.
    written = [c for c in codes if c.code and not _WHITESPACE.search(c.code.strip())]
    if not written or translations_only:
        element = sub(parent, tag, nullFlavor="OTH" if written else "UNK", xsi_type=xsi_type)
        extras = written
    else:
        element = _code_attrs(sub(parent, tag, xsi_type=xsi_type), written[0])
        extras = written[1:]
    if text:
        sub(element, "originalText", text)
    for extra in extras:
        _code_attrs(sub(element, "translation"), extra)
    return element


def _code_attrs(element: etree._Element, code: Code) -> etree._Element:
    oid, name = code_system(code.system)
    element.set("code", clean_text((code.code or "").strip()))
    if oid:
        element.set("codeSystem", oid)
    if name:
        element.set("codeSystemName", clean_text(name))
    if code.display:
        element.set("displayName", clean_text(code.display))
    return element


def number_text(value: object) -> str | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return repr(value) if isinstance(value, float) else str(value)


def quantity_attrs(quantity: dict[str, Any]) -> dict[str, str] | None:
    """value/unit for a PQ from a FHIR Quantity; None when it is not a plain number and unit."""
    number = number_text(quantity.get("value"))
    if number is None:
        return None
    unit = quantity.get("code") if quantity.get("system") == UCUM else None
    unit = unit or quantity.get("unit") or "1"
    if not isinstance(unit, str) or not _UCUM_UNIT.match(unit):
        return None
    return {"value": number, "unit": unit}
