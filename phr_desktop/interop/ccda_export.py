"""C-CDA R2.1 Continuity of Care Document from an export: header, narrative and structured entries.

One section per record kind the CCD names; each record becomes one entry whose text points at
its row in the section's narrative table. A section with nothing to say says so (nullFlavor NI).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from lxml import etree

from phr_desktop.domain.codes import codes_of, first_of
from phr_desktop.domain.records import PartialDate, parse_partial_date
from phr_desktop.interop import ccda_export_entries as entries
from phr_desktop.interop.ccda_export_values import (
    LOINC_OID,
    V3,
    XSI,
    clean_text,
    number_text,
    stable_uid,
    sub,
    system_root,
    template,
    time_element,
    ts_value,
)
from phr_desktop.interop.export_data import ExportData, ExportRecord

R21 = entries.R21


@dataclass(frozen=True)
class SectionSpec:
    key: str  # prefix of the narrative row IDs
    kinds: tuple[str, ...]
    template_root: str  # the "entries required" template
    extension: str | None
    loinc: str
    title: str
    columns: tuple[str, ...]
    build: entries.EntryBuilder


SECTIONS: tuple[SectionSpec, ...] = (
    SectionSpec(
        "allergy", ("allergy",), "2.16.840.1.113883.10.20.22.2.6.1", R21, "48765-2",
        "Allergies and Intolerances", ("Allergen", "Reaction", "Status", "Since", "Source"),
        entries.allergy_entry,
    ),
    SectionSpec(
        "med", ("medication",), "2.16.840.1.113883.10.20.22.2.1.1", entries.R20, "10160-0",
        "Medications", ("Medication", "Instructions", "Status", "Date", "Source"),
        entries.medication_entry,
    ),
    SectionSpec(
        "problem", ("problem",), "2.16.840.1.113883.10.20.22.2.5.1", R21, "11450-4",
        "Problems", ("Problem", "Codes", "Status", "Onset", "Source"), entries.problem_entry,
    ),
    SectionSpec(
        "result", ("lab_result", "imaging"), "2.16.840.1.113883.10.20.22.2.3.1", R21, "30954-2",
        "Results", ("Test", "Value", "Reference range", "Date", "Source"), entries.result_entry,
    ),
    SectionSpec(
        "vital", ("vital_sign",), "2.16.840.1.113883.10.20.22.2.4.1", R21, "8716-3",
        "Vital Signs", ("Measurement", "Value", "Interpretation", "Date", "Source"),
        entries.vital_entry,
    ),
    SectionSpec(
        "imm", ("immunization",), "2.16.840.1.113883.10.20.22.2.2.1", R21, "11369-6",
        "Immunizations", ("Vaccine", "Lot", "Status", "Date", "Source"),
        entries.immunization_entry,
    ),
    SectionSpec(
        "proc", ("procedure",), "2.16.840.1.113883.10.20.22.2.7.1", entries.R20, "47519-4",
        "Procedures", ("Procedure", "Codes", "Status", "Date", "Source"),
        entries.procedure_entry,
    ),
    SectionSpec(
        "enc", ("encounter",), "2.16.840.1.113883.10.20.22.2.22.1", R21, "46240-8",
        "Encounters", ("Encounter", "Location", "Status", "Date", "Source"),
        entries.encounter_entry,
    ),
)  # fmt: skip

APP_NAME = "phr-desktop"
_GENDERS = {"male": "M", "female": "F", "other": "UN", "unknown": None}


def build_ccd(data: ExportData) -> bytes:
    """The whole CCD as UTF-8 bytes with an XML declaration."""
    root = etree.Element(f"{{{V3}}}ClinicalDocument", nsmap={None: V3, "xsi": XSI})
    _header(root, data)
    body = sub(sub(root, "component"), "structuredBody")
    for spec in SECTIONS:
        _section(sub(body, "component"), spec, data.of_kind(*spec.kinds))
    return bytes(etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True))


# --- header --------------------------------------------------------------------------------


def _header(doc: etree._Element, data: ExportData) -> None:
    sub(doc, "realmCode", code="US")
    sub(doc, "typeId", root="2.16.840.1.113883.1.3", extension="POCD_HD000040")
    template(doc, "2.16.840.1.113883.10.20.22.1.1")
    template(doc, "2.16.840.1.113883.10.20.22.1.1", R21)
    template(doc, "2.16.840.1.113883.10.20.22.1.2")
    template(doc, "2.16.840.1.113883.10.20.22.1.2", R21)
    document_id = stable_uid("document", data.patient_name, data.generated_at)
    sub(doc, "id", root=document_id)
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
    _record_target(doc, data)
    author = sub(doc, "author")
    sub(author, "time", value=generated)
    assigned = sub(author, "assignedAuthor")
    sub(assigned, "id", root=stable_uid("app", APP_NAME))
    device = sub(assigned, "assignedAuthoringDevice")
    sub(device, "manufacturerModelName", APP_NAME)
    sub(device, "softwareName", f"{APP_NAME} {data.app_version}")
    custodian = sub(
        sub(sub(doc, "custodian"), "assignedCustodian"), "representedCustodianOrganization"
    )
    sub(custodian, "id", root=stable_uid("custodian", data.patient_name))
    sub(custodian, "name", f"{data.patient_name} (personal health record, {APP_NAME})")
    event = sub(sub(doc, "documentationOf"), "serviceEvent", classCode="PCPR")
    dates = [r.record.effective for r in data.records if r.record.effective]
    first = min(dates, key=lambda d: d.sort_key) if dates else None
    last = max(dates, key=lambda d: d.sort_key) if dates else None
    time_element(event, "effectiveTime", first, last)


def _record_target(doc: etree._Element, data: ExportData) -> None:
    role = sub(sub(doc, "recordTarget"), "patientRole")
    raw: dict[str, Any] = data.patient.raw if data.patient else {}
    identifiers = [i for i in raw.get("identifier") or () if isinstance(i, dict) and i.get("value")]
    for identifier in identifiers:
        sub(role, "id", root=system_root(identifier.get("system")), extension=identifier["value"])
    if not identifiers:
        sub(role, "id", root=stable_uid("patient", data.patient_name))
    for address in (a for a in raw.get("address") or () if isinstance(a, dict)):
        addr = sub(role, "addr", use="HP" if address.get("use") == "home" else None)
        for line in address.get("line") or ():
            sub(addr, "streetAddressLine", line)
        for field, tag in (("city", "city"), ("state", "state"), ("postalCode", "postalCode")):
            if address.get(field):
                sub(addr, tag, address[field])
        if address.get("country"):
            sub(addr, "country", address["country"])
    for telecom in (t for t in raw.get("telecom") or () if isinstance(t, dict) and t.get("value")):
        scheme = {"phone": "tel:", "email": "mailto:"}.get(telecom.get("system", ""), "")
        use = {"home": "HP", "work": "WP", "mobile": "MC"}.get(telecom.get("use", ""))
        value = str(telecom["value"])
        if scheme == "tel:":
            value = "".join(ch for ch in value if ch.isdigit() or ch in "+-")
        sub(role, "telecom", value=scheme + value.replace(" ", ""), use=use)
    patient = sub(role, "patient")
    name = first_of(raw.get("name")) or {}
    name_element = sub(patient, "name", use="L")
    given = [g for g in name.get("given") or () if isinstance(g, str)]
    for part in given:
        sub(name_element, "given", part)
    if name.get("family"):
        sub(name_element, "family", name["family"])
    if not given and not name.get("family"):
        name_element.text = clean_text(data.patient_name)
    gender = _GENDERS.get(str(raw.get("gender")))
    if gender:
        sub(
            patient,
            "administrativeGenderCode",
            code=gender,
            codeSystem="2.16.840.1.113883.5.1",
        )
    else:
        sub(patient, "administrativeGenderCode", nullFlavor="UNK")
    birth = parse_partial_date(raw.get("birthDate"))
    sub(patient, "birthTime", value=ts_value(birth), nullFlavor=None if birth else "UNK")


# --- sections and narrative ----------------------------------------------------------------


def _section(component: etree._Element, spec: SectionSpec, records: Sequence[ExportRecord]) -> None:
    section = sub(component, "section", nullFlavor=None if records else "NI")
    template(section, spec.template_root)
    if spec.extension:
        template(section, spec.template_root, spec.extension)
    sub(
        section,
        "code",
        code=spec.loinc,
        codeSystem=LOINC_OID,
        codeSystemName="LOINC",
        displayName=spec.title,
    )
    sub(section, "title", spec.title)
    text = sub(section, "text")
    if not records:
        sub(text, "paragraph", "No information")
        return
    table = sub(text, "table", border="1", width="100%")
    header_row = sub(sub(table, "thead"), "tr")
    for column in spec.columns:
        sub(header_row, "th", column)
    body = sub(table, "tbody")
    for n, rec in enumerate(records, start=1):
        row_id = f"{spec.key}-{n}"
        row = sub(body, "tr", ID=row_id)
        for cell in _cells(spec.key, rec):
            sub(row, "td", cell)
        spec.build(sub(section, "entry", typeCode="DRIV"), rec, row_id)


def _cells(key: str, rec: ExportRecord) -> list[str]:
    record, raw = rec.record, rec.raw
    date = _date_text(record.effective)
    source = record.source_system or ""
    status = record.status or ""
    codes = ", ".join(f"{c.code}" for c in record.codes if c.code)
    if key == "allergy":
        reactions = [
            m.display or m.code or ""
            for r in raw.get("reaction") or ()
            if isinstance(r, dict)
            for concept in r.get("manifestation") or ()
            for m in codes_of(concept)[:1]
        ]
        value_text = record.value.text if record.value else None
        return [record.title, ", ".join(reactions) or value_text or "", status, date, source]
    if key == "med":
        instructions = record.value.text if record.value and record.value.text else ""
        return [record.title, instructions, status, date, source]
    if key in ("result", "vital"):
        value = _value_text(rec)
        third = _range_text(rec) if key == "result" else (record.interpretation or "")
        return [record.title, value, third, date, source]
    if key == "imm":
        return [record.title, str(raw.get("lotNumber") or ""), status, date, source]
    if key == "enc":
        return [record.title, record.facility or "", status, date, source]
    return [record.title, codes, status, date, source]


def _date_text(date: PartialDate | None) -> str:
    return date.text if date else "unknown"


def _value_text(rec: ExportRecord) -> str:
    value = rec.record.value
    if value is None:
        return ""
    if value.text:
        return value.text
    number = number_text(value.value)
    return " ".join(x for x in (number, value.unit) if x)


def _range_text(rec: ExportRecord) -> str:
    reference = rec.record.reference_range
    if reference is None:
        return ""
    if reference.text:
        return reference.text
    low, high = number_text(reference.low), number_text(reference.high)
    return f"{low or ''}–{high or ''}"
