"""The US Realm Header of the exported CCD: who the document is about, who wrote and keeps it.

The author is this app, acting for the patient; the custodian is the patient's own record. Both
carry the patient's address and telecom, since that is where the record is kept. Whatever C-CDA
requires and the profile does not know is written as a nullFlavor, never made up.
"""

from __future__ import annotations

from typing import Any

from lxml import etree

from phr_desktop.domain.codes import codes_of, first_of
from phr_desktop.domain.records import parse_partial_date
from phr_desktop.interop.ccda.export_values import (
    LOINC_OID,
    SDTC,
    clean_text,
    identifier_ii,
    stable_uid,
    sub,
    system_root,
    template,
    ts_value,
)
from phr_desktop.interop.export_data import ExportData

R21 = "2015-08-01"
APP_NAME = "phr-desktop"
_GENDERS = {"male": "M", "female": "F", "other": "UN", "unknown": None}
_US_CORE = "http://hl7.org/fhir/us/core/StructureDefinition/"
_NULL_FLAVORS = "http://terminology.hl7.org/CodeSystem/v3-NullFlavor"
_RACE_ETHNICITY_OID = "2.16.840.1.113883.6.238"
_MARITAL_STATUS = "http://terminology.hl7.org/CodeSystem/v3-MaritalStatus"


def write_header(doc: etree._Element, data: ExportData) -> None:
    """Everything before the structuredBody, in the order the CDA schema wants it."""
    raw: dict[str, Any] = data.patient.raw if data.patient else {}
    sub(doc, "realmCode", code="US")
    sub(doc, "typeId", root="2.16.840.1.113883.1.3", extension="POCD_HD000040")
    template(doc, "2.16.840.1.113883.10.20.22.1.1")
    template(doc, "2.16.840.1.113883.10.20.22.1.1", R21)
    template(doc, "2.16.840.1.113883.10.20.22.1.2")
    template(doc, "2.16.840.1.113883.10.20.22.1.2", R21)
    sub(doc, "id", root=stable_uid("document", data.patient_name, data.generated_at))
    sub(
        doc,
        "code",
        code="34133-9",
        codeSystem=LOINC_OID,
        codeSystemName="LOINC",
        displayName="Summarization of Episode Note",
    )
    sub(doc, "title", f"Continuity of Care Document: {data.patient_name}")
    generated = ts_value(data.generated_at)
    sub(doc, "effectiveTime", value=generated)
    sub(doc, "confidentialityCode", code="N", codeSystem="2.16.840.1.113883.5.25")
    sub(doc, "languageCode", code="en-US")
    _record_target(doc, data, raw)
    author = sub(doc, "author")
    sub(author, "time", value=generated)
    assigned = sub(author, "assignedAuthor")
    sub(assigned, "id", root=stable_uid("app", APP_NAME))
    _address(assigned, _first_address(raw))
    _telecoms(assigned, raw, limit=None)
    device = sub(assigned, "assignedAuthoringDevice")
    sub(device, "manufacturerModelName", APP_NAME)
    sub(device, "softwareName", f"{APP_NAME} {data.app_version}")
    _personal_record(sub(assigned, "representedOrganization"), data, raw)
    custodian = sub(sub(doc, "custodian"), "assignedCustodian")
    _personal_record(sub(custodian, "representedCustodianOrganization"), data, raw)
    event = sub(sub(doc, "documentationOf"), "serviceEvent", classCode="PCPR")
    earliest, latest = data.date_span()
    first = ts_value(earliest) if earliest else None
    last = ts_value(latest) if latest else None
    # The span the document covers; the CCD needs both ends (CONF:1198-8454, 1198-8455).
    span = sub(event, "effectiveTime")
    for end, value in (("low", first), ("high", last)):
        sub(span, end, value=value, nullFlavor=None if value else "UNK")


def _personal_record(org: etree._Element, data: ExportData, raw: dict[str, Any]) -> None:
    """The organisation that keeps this record: the patient's own health record."""
    sub(org, "id", root=stable_uid("custodian", data.patient_name))
    sub(org, "name", f"{data.patient_name} (personal health record, {APP_NAME})")
    _telecoms(org, raw, limit=1)
    _address(org, _first_address(raw))


def _record_target(doc: etree._Element, data: ExportData, raw: dict[str, Any]) -> None:
    role = sub(sub(doc, "recordTarget"), "patientRole")
    identifiers = [i for i in raw.get("identifier") or () if isinstance(i, dict) and i.get("value")]
    for identifier in identifiers:
        sub(role, "id", **identifier_ii(identifier))
    if not identifiers:
        sub(role, "id", root=stable_uid("patient", data.patient_name))
    addresses: list[dict[str, Any] | None] = [
        a for a in raw.get("address") or () if isinstance(a, dict)
    ]
    for address in addresses or [None]:
        _address(role, address)
    _telecoms(role, raw, limit=None)
    patient = sub(role, "patient")
    _name(patient, raw)
    gender = _GENDERS.get(str(raw.get("gender")))
    if gender:
        sub(patient, "administrativeGenderCode", code=gender, codeSystem="2.16.840.1.113883.5.1")
    else:
        sub(patient, "administrativeGenderCode", nullFlavor="UNK")
    birth = parse_partial_date(raw.get("birthDate"))
    sub(patient, "birthTime", value=ts_value(birth), nullFlavor=None if birth else "UNK")
    marital = next(
        (c for c in codes_of(raw.get("maritalStatus")) if c.system == _MARITAL_STATUS), None
    )
    if marital and marital.code:
        sub(
            patient,
            "maritalStatusCode",
            code=marital.code,
            codeSystem="2.16.840.1.113883.5.2",
            displayName=marital.display,
        )
    _race_or_ethnicity(patient, raw, "us-core-race", "raceCode")
    _race_or_ethnicity(patient, raw, "us-core-ethnicity", "ethnicGroupCode")
    _languages(patient, raw)


def _name(patient: etree._Element, raw: dict[str, Any]) -> None:
    """A US Realm Person Name: given and family parts only, or a nullFlavor."""
    name = first_of(raw.get("name")) or {}
    given = [g for g in name.get("given") or () if isinstance(g, str) and g.strip()]
    family = name.get("family") if isinstance(name.get("family"), str) else None
    text = name.get("text") if isinstance(name.get("text"), str) else None
    if not given and not family and text and text.split():
        # Only the whole name is known: C-CDA forbids a bare string in <name>, so the last word
        # is written as the family name and the others as given names.
        *given, family = text.split()
    if not given and not family:
        sub(patient, "name", nullFlavor="UNK")
        return
    element = sub(patient, "name", use="L")
    parts: list[str | None] = list(given)
    for part in parts or [None]:
        sub(element, "given", part, nullFlavor=None if part else "UNK")
    sub(element, "family", family, nullFlavor=None if family else "UNK")


def _first_address(raw: dict[str, Any]) -> dict[str, Any] | None:
    return next((a for a in raw.get("address") or () if isinstance(a, dict)), None)


def _address(parent: etree._Element, address: dict[str, Any] | None) -> None:
    """A US Realm Address: street, city, and for the US state and postal code, or nullFlavors."""
    if address is None:
        sub(parent, "addr", nullFlavor="UNK")
        return
    use = {"home": "HP", "work": "WP", "temp": "TMP", "old": "OLD"}.get(str(address.get("use")))
    addr = sub(parent, "addr", use=use)
    lines: list[str | None] = [
        line for line in address.get("line") or () if isinstance(line, str) and line
    ]
    for line in lines[:4] or [None]:
        sub(addr, "streetAddressLine", line, nullFlavor=None if line else "UNK")
    country = address.get("country") if isinstance(address.get("country"), str) else None
    in_us = country is None or country.upper() in ("US", "USA")
    for field, required in (("city", True), ("state", in_us), ("postalCode", in_us)):
        value = address.get(field) if isinstance(address.get(field), str) else None
        if value or required:
            sub(addr, field, value, nullFlavor=None if value else "UNK")
    if country:
        sub(addr, "country", country)


def _telecoms(parent: etree._Element, raw: dict[str, Any], limit: int | None) -> None:
    written = 0
    for telecom in raw.get("telecom") or ():
        if not isinstance(telecom, dict) or not telecom.get("value"):
            continue
        if limit is not None and written >= limit:
            break
        scheme = {"phone": "tel:", "email": "mailto:", "fax": "fax:"}.get(
            str(telecom.get("system")), ""
        )
        use = {"home": "HP", "work": "WP", "mobile": "MC"}.get(str(telecom.get("use")))
        value = str(telecom["value"])
        if scheme in ("tel:", "fax:"):
            value = "".join(ch for ch in value if ch.isdigit() or ch in "+-")
        sub(parent, "telecom", value=scheme + value.replace(" ", ""), use=use)
        written += 1
    if not written:
        sub(parent, "telecom", nullFlavor="UNK")


def _race_or_ethnicity(patient: etree._Element, raw: dict[str, Any], name: str, tag: str) -> None:
    """US Core race/ethnicity: the first OMB category, the others in sdtc:, UNK when not given."""
    extension = next(
        (
            e
            for e in raw.get("extension") or ()
            if isinstance(e, dict) and e.get("url") == _US_CORE + name
        ),
        {},
    )
    codings: list[dict[str, Any]] = [
        coding
        for kind in ("ombCategory", "detailed")
        for part in extension.get("extension") or ()
        if isinstance(part, dict) and part.get("url") == kind
        for coding in [part.get("valueCoding")]
        if isinstance(coding, dict) and coding.get("code")
    ]
    if not codings:
        sub(patient, tag, nullFlavor="UNK")
        return
    for n, coding in enumerate(codings):
        if coding.get("system") == _NULL_FLAVORS:
            attrs: dict[str, str | None] = {"nullFlavor": str(coding["code"])}
        else:
            system = system_root(coding.get("system"))
            attrs = {
                "code": str(coding["code"]),
                "codeSystem": system,
                "codeSystemName": "Race & Ethnicity - CDC"
                if system == _RACE_ETHNICITY_OID
                else None,
                "displayName": coding.get("display"),
            }
        if n == 0:
            sub(patient, tag, **attrs)
        else:
            element = etree.SubElement(patient, f"{{{SDTC}}}{tag}")
            for key, val in attrs.items():
                if val:
                    element.set(key, clean_text(val))


def _languages(patient: etree._Element, raw: dict[str, Any]) -> None:
    for communication in raw.get("communication") or ():
        if not isinstance(communication, dict):
            continue
        language = next(iter(codes_of(communication.get("language"))), None)
        if language is None or not language.code:
            continue
        element = sub(patient, "languageCommunication")
        sub(element, "languageCode", code=language.code)
        preferred = communication.get("preferred")
        if isinstance(preferred, bool):
            sub(element, "preferenceInd", value="true" if preferred else "false")
