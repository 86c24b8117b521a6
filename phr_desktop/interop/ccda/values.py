"""C-CDA data types (CD, TS, PQ, IVL, II) read into FHIR R4 JSON values, for the C-CDA importer.

Lenient like the rest of the import path: a value that cannot be read is left out, never raised.
"""

from __future__ import annotations

import hashlib
import re
from decimal import Decimal, InvalidOperation
from typing import Any

from lxml import etree

from phr_desktop.domain.codes import canonical_system

V3 = "urn:hl7-org:v3"
XSI_TYPE = "{http://www.w3.org/2001/XMLSchema-instance}type"
NS = {"v": V3}
UCUM = "http://unitsofmeasure.org"
_UCUM_OID = "2.16.840.1.113883.6.8"

# OIDs that domain.codes does not know, as the URIs FHIR R4 (and US Core) use for them.
_OID_SYSTEMS: dict[str, str] = {
    "2.16.840.1.113883.6.12": "http://www.ama-assn.org/go/cpt",
    "2.16.840.1.113883.6.103": "http://hl7.org/fhir/sid/icd-9-cm",
    "2.16.840.1.113883.6.104": "http://hl7.org/fhir/sid/icd-9-cm",
    "2.16.840.1.113883.6.4": "http://www.cms.gov/Medicare/Coding/ICD10",
    "2.16.840.1.113883.6.69": "http://hl7.org/fhir/sid/ndc",
    _UCUM_OID: UCUM,
    "2.16.840.1.113883.6.285": "http://www.cms.gov/Medicare/Coding/HCPCSReleaseCodeSets",
    "2.16.840.1.113883.6.14": "http://www.cms.gov/Medicare/Coding/HCPCSReleaseCodeSets",
    "2.16.840.1.113883.6.101": "http://nucc.org/provider-taxonomy",
    "2.16.840.1.113883.12.227": "http://hl7.org/fhir/sid/mvx",
    "2.16.840.1.113883.5.1": "http://terminology.hl7.org/CodeSystem/v3-AdministrativeGender",
    "2.16.840.1.113883.5.4": "http://terminology.hl7.org/CodeSystem/v3-ActCode",
    "2.16.840.1.113883.5.6": "http://terminology.hl7.org/CodeSystem/v3-ActClass",
    "2.16.840.1.113883.5.83": "http://terminology.hl7.org/CodeSystem/v3-ObservationInterpretation",
    "2.16.840.1.113883.5.8": "http://terminology.hl7.org/CodeSystem/v3-ActReason",
    "2.16.840.1.113883.5.111": "http://terminology.hl7.org/CodeSystem/v3-RoleCode",
    "2.16.840.1.113883.5.60": "http://terminology.hl7.org/CodeSystem/v3-LanguageAbilityMode",
    "2.16.840.1.113883.5.2": "http://terminology.hl7.org/CodeSystem/v3-MaritalStatus",
    "2.16.840.1.113883.5.1076": "http://terminology.hl7.org/CodeSystem/v3-ReligiousAffiliation",
    "2.16.840.1.113883.6.238": "urn:oid:2.16.840.1.113883.6.238",  # CDC race & ethnicity
}

_UUID_RE = re.compile(r"^[0-9A-Fa-f]{8}(?:-[0-9A-Fa-f]{4}){3}-[0-9A-Fa-f]{12}$")
_TS_RE = re.compile(
    r"^(\d{4})(\d{2})?(\d{2})?(?:(\d{2})(\d{2})?(\d{2})?(\.\d+)?)?([+-]\d{2}(?:\d{2})?|Z)?$"
)


def v(tag: str) -> str:
    return f"{{{V3}}}{tag}"


def child(el: etree._Element | None, *path: str) -> etree._Element | None:
    node = el
    for tag in path:
        if node is None:
            return None
        node = node.find(v(tag))
    return node


def children(el: etree._Element | None, tag: str) -> list[etree._Element]:
    return [] if el is None else list(el.iterfind(v(tag)))


def attr(el: etree._Element | None, name: str) -> str | None:
    if el is None:
        return None
    value = el.get(name)
    return value.strip() if value and value.strip() else None


def text_of(el: etree._Element | None) -> str | None:
    if el is None:
        return None
    text = " ".join("".join(el.itertext()).split())
    return text or None


def template_roots(el: etree._Element) -> set[str]:
    return {t.get("root", "") for t in el.iterfind(v("templateId"))}


def system_uri(oid: str | None) -> str | None:
    if not oid:
        return None
    if oid in _OID_SYSTEMS:
        return _OID_SYSTEMS[oid]
    if oid.startswith(("http:", "https:", "urn:")):
        return canonical_system(oid)
    return canonical_system(f"urn:oid:{oid}")


class Narrative:
    """The section texts' elements by ID, so `<reference value="#x"/>` can be followed; and
    the name the document gives each code somewhere, for an entry that sends the code alone."""

    def __init__(self, root: etree._Element) -> None:
        self._by_id: dict[str, etree._Element] = {}
        self._code_names: dict[tuple[str | None, str], str] = {}
        unnamed: list[tuple[tuple[str | None, str], etree._Element]] = []
        for el in root.iter():
            if not isinstance(el.tag, str):
                continue
            ident = el.get("ID")
            if ident and ident not in self._by_id:
                self._by_id[ident] = el
            code = el.get("code")
            if code and el.get("codeSystem"):
                key = (system_uri(el.get("codeSystem")), code)
                name = attr(el, "displayName")
                if name:
                    self._code_names.setdefault(key, name)
                elif (original := el.find(v("originalText"))) is not None:
                    unnamed.append((key, original))
        for key, original in unnamed:  # references resolve once every ID is known
            if key not in self._code_names and (name := self.resolve(original)):
                self._code_names[key] = name

    def code_name(self, system: str | None, code: str | None) -> str | None:
        """The name this document gives the code elsewhere (a displayName, an originalText)."""
        return self._code_names.get((system, code)) if code else None

    def resolve(self, el: etree._Element | None) -> str | None:
        """Text of an originalText/text element: its reference target, else its own text."""
        if el is None:
            return None
        ref = attr(child(el, "reference"), "value")
        key = ref[1:] if ref and ref.startswith("#") else ref
        if key and key in self._by_id:  # some vendors leave out the "#"
            return text_of(self._by_id[key])
        own = " ".join((el.text or "").split())
        if not own and ref and not ref.startswith("#") and ":" not in ref:
            # OpenVista writes the words themselves there: <reference value="CBC NO DIFF"/>
            return ref
        return own or None


def _coding(el: etree._Element) -> dict[str, Any] | None:
    code, system = attr(el, "code"), system_uri(attr(el, "codeSystem"))
    if code is None:
        return None
    out: dict[str, Any] = {}
    if system:
        out["system"] = system
    out["code"] = code
    display = attr(el, "displayName")
    if display:
        out["display"] = display
    return out


def concept(el: etree._Element | None, narrative: Narrative) -> dict[str, Any] | None:
    """A CD/CE/CV (with translations and originalText) as a CodeableConcept."""
    if el is None:
        return None
    codings = [c for c in [_coding(el)] if c]
    codings += [c for t in children(el, "translation") if (c := _coding(t))]
    out: dict[str, Any] = {}
    if codings:
        out["coding"] = codings
    text = narrative.resolve(child(el, "originalText")) or attr(el, "displayName")
    if not text:
        text = next((c["display"] for c in codings if "display" in c), None)
    if text:
        out["text"] = text
    return out or None


def fhir_datetime(value: str | None) -> str | None:
    """HL7 v3 TS ("20160826164600-0500") as a FHIR date or dateTime, precision kept."""
    if not value:
        return None
    match = _TS_RE.match(value.strip())
    if not match:
        return None
    year, month, day, hour, minute, second, fraction, tz = match.groups()
    if (month and not 1 <= int(month) <= 12) or (day and not 1 <= int(day) <= 31):
        return None
    out = year + (f"-{month}" if month else "") + (f"-{day}" if month and day else "")
    if not (day and hour):
        return out
    out += f"T{hour}:{minute or '00'}:{second or '00'}{fraction or ''}"
    if tz == "Z":
        out += "Z"
    elif tz:
        out += f"{tz[:3]}:{tz[3:5] or '00'}"
    return out


def time_of(el: etree._Element | None) -> str | None:
    """One point in time from a TS or IVL_TS (the value, else low, else center)."""
    if el is None:
        return None
    for node in (el, child(el, "low"), child(el, "center")):
        found = fhir_datetime(attr(node, "value"))
        if found:
            return found
    return None


def period_of(el: etree._Element | None) -> dict[str, str] | None:
    """A TS or IVL_TS as a FHIR Period; an interval given by its center is that one point."""
    if el is None:
        return None
    start = next(
        (
            found
            for node in (el, child(el, "low"), child(el, "center"))
            if (found := fhir_datetime(attr(node, "value")))
        ),
        None,
    )
    end = fhir_datetime(attr(child(el, "high"), "value"))
    out = {k: val for k, val in (("start", start), ("end", end)) if val}
    return out or None


def effective_times(el: etree._Element) -> list[etree._Element]:
    return children(el, "effectiveTime")


def decimal_of(value: str | None) -> Decimal | None:
    if value is None:
        return None
    try:
        number = Decimal(value.strip())
    except InvalidOperation:
        return None
    return number if number.is_finite() else None


def quantity(el: etree._Element | None) -> dict[str, Any] | None:
    """A PQ as a Quantity; a unit that is not UCUM is kept as text, without system and code."""
    if el is None:
        return None
    number = decimal_of(attr(el, "value"))
    if number is None:
        # athenahealth sends a result in a unit UCUM lacks as <value xsi:type="PQ"
        # nullFlavor="OTH"> with the number in a translation (PQR), its unit as originalText.
        translated = (_translated_quantity(t) for t in children(el, "translation"))
        return next((q for q in translated if q), None)
    out: dict[str, Any] = {"value": number}
    unit = attr(el, "unit")
    if unit and unit != "1":
        out.update(unit=unit, system=UCUM, code=unit)
        return out
    # Cerner writes a dose of "30 units" as unit="1" and the word in a same-valued translation.
    for translation in children(el, "translation"):
        words = text_of(child(translation, "originalText")) or attr(translation, "code")
        if words and decimal_of(attr(translation, "value")) == number:
            out["unit"] = words
            break
    return out


def _translated_quantity(el: etree._Element) -> dict[str, Any] | None:
    number = decimal_of(attr(el, "value"))
    if number is None:
        return None
    out: dict[str, Any] = {"value": number}
    code, words = attr(el, "code"), text_of(child(el, "originalText"))
    if code and attr(el, "codeSystem") == _UCUM_OID:
        out.update(unit=words or code, system=UCUM, code=code)
    elif words or code:
        out["unit"] = words or code
    return out


def value_fields(
    el: etree._Element | None, narrative: Narrative, prefix: str = "value"
) -> dict[str, Any]:
    """An observation's <value> as the matching FHIR value[x] (Quantity, CodeableConcept…)."""
    if el is None or (
        attr(el, "nullFlavor") and not attr(el, "code") and not children(el, "translation")
    ):
        return {}
    kind = (el.get(XSI_TYPE) or "").split(":")[-1].upper()
    if kind in ("PQ", "REAL", "MO") or (not kind and attr(el, "value") and attr(el, "unit")):
        q = quantity(el)
        if q:
            return {f"{prefix}Quantity": q}
        raw = attr(el, "value")
        return {f"{prefix}String": f"{raw} {attr(el, 'unit') or ''}".strip()} if raw else {}
    if kind == "INT":
        try:
            return {f"{prefix}Integer": int(attr(el, "value") or "")}
        except ValueError:
            return {}
    if kind in ("CD", "CE", "CV", "CO", "CS"):
        cc = concept(el, narrative)
        return {f"{prefix}CodeableConcept": cc} if cc else {}
    if kind == "BL":
        flag = attr(el, "value")
        return {f"{prefix}Boolean": flag == "true"} if flag in ("true", "false") else {}
    if kind == "TS":
        when = fhir_datetime(attr(el, "value"))
        return {f"{prefix}DateTime": when} if when else {}
    if kind in ("IVL_PQ", "IVL_REAL"):
        low, high = quantity(child(el, "low")), quantity(child(el, "high"))
        rng = {k: q for k, q in (("low", low), ("high", high)) if q}
        return {f"{prefix}Range": rng} if rng else {}
    if kind == "RTO_PQ_PQ" or kind == "RTO":
        num, den = quantity(child(el, "numerator")), quantity(child(el, "denominator"))
        return {f"{prefix}Ratio": {"numerator": num, "denominator": den}} if num and den else {}
    text = narrative.resolve(el) or text_of(el)
    return {f"{prefix}String": text} if text else {}


def _root_uri(root: str) -> str:
    """An II root as a URI: urn:uuid: for a UUID (as Cerner and athena write), else urn:oid:."""
    if root.startswith("urn:"):
        return root
    if _UUID_RE.match(root):
        return f"urn:uuid:{root.lower()}"
    return f"urn:oid:{root}"


def identifiers(el: etree._Element) -> list[dict[str, str]]:
    out = []
    for ident in children(el, "id"):
        root, ext = attr(ident, "root"), attr(ident, "extension")
        if not root:
            continue
        if ext:
            out.append({"system": _root_uri(root), "value": ext})
        else:
            out.append({"system": "urn:ietf:rfc:3986", "value": _root_uri(root)})
    return out


def resource_id(resource_type: str, el: etree._Element, salt: str = "") -> str:
    """A FHIR id from the entry's own id (stable across documents), else from its XML."""
    for ident in children(el, "id"):
        root, ext = attr(ident, "root"), attr(ident, "extension")
        if root:
            key = f"{resource_type}|{root}|{ext or ''}|{salt}"
            return "ccda-" + hashlib.sha256(key.encode()).hexdigest()[:40]
    xml = etree.tostring(el, method="c14n")
    key = f"{resource_type}|".encode() + xml + salt.encode()
    return "ccda-" + hashlib.sha256(key).hexdigest()[:40]
