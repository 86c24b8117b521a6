"""C-CDA R2.1 Continuity of Care Document from an export: header, narrative and structured entries.

One section per record kind the CCD names; each record becomes one entry whose text points at
its row in the section's narrative table. A section with nothing to say says so (nullFlavor NI).
Notes, and the readable text of source documents, follow in Notes Sections (export_notes).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from lxml import etree

from phr_desktop.domain.codes import codes_of
from phr_desktop.domain.records import PartialDate
from phr_desktop.interop.ccda import export_entries as entries
from phr_desktop.interop.ccda import export_medications as medications
from phr_desktop.interop.ccda import export_observations as observations
from phr_desktop.interop.ccda import export_results as results
from phr_desktop.interop.ccda.export_header import write_header
from phr_desktop.interop.ccda.export_notes import note_section, notes_of
from phr_desktop.interop.ccda.export_values import (
    LOINC_OID,
    SDTC,
    V3,
    XSI,
    number_text,
    sub,
    template,
)
from phr_desktop.interop.export_data import ExportData, ExportRecord

R21 = entries.R21
GroupBuilder = Callable[[etree._Element, list[ExportRecord], dict[int, str]], None]


@dataclass(frozen=True)
class SectionSpec:
    key: str  # prefix of the narrative row IDs
    kinds: tuple[str, ...]
    template_root: str  # the "entries required" template
    extension: str | None
    loinc: str
    title: str
    columns: tuple[str, ...]
    build: entries.EntryBuilder | None
    belongs: Callable[[ExportRecord], bool] = lambda rec: True  # among records of its kinds
    # Sections whose entries hold several records (a report's results, vitals taken together):
    # how records group, and the builder of one group's entry.
    grouping: Callable[[list[ExportRecord]], list[list[ExportRecord]]] | None = None
    build_group: GroupBuilder | None = None

    def records(self, data: ExportData) -> list[ExportRecord]:
        return [rec for rec in data.of_kind(*self.kinds) if self.belongs(rec)]


SECTIONS: tuple[SectionSpec, ...] = (
    SectionSpec(
        "allergy", ("allergy",), "2.16.840.1.113883.10.20.22.2.6.1", R21, "48765-2",
        "Allergies and Intolerances", ("Allergen", "Reaction", "Status", "Since", "Source"),
        entries.allergy_entry,
    ),
    SectionSpec(
        "med", ("medication",), "2.16.840.1.113883.10.20.22.2.1.1", entries.R20, "10160-0",
        "Medications", ("Medication", "Instructions", "Status", "Date", "Source"),
        medications.medication_entry,
    ),
    SectionSpec(
        "problem", ("problem",), "2.16.840.1.113883.10.20.22.2.5.1", R21, "11450-4",
        "Problems", ("Problem", "Codes", "Status", "Onset", "Source"), entries.problem_entry,
    ),
    SectionSpec(
        "result", ("lab_result", "imaging"), "2.16.840.1.113883.10.20.22.2.3.1", R21, "30954-2",
        "Results", ("Test", "Value", "Reference range", "Date", "Source"), None,
        grouping=results.result_groups, build_group=results.result_group_entry,
    ),
    SectionSpec(
        "vital", ("vital_sign",), "2.16.840.1.113883.10.20.22.2.4.1", R21, "8716-3",
        "Vital Signs", ("Measurement", "Value", "Interpretation", "Date", "Source"), None,
        grouping=results.vital_groups, build_group=results.vital_group_entry,
    ),
    SectionSpec(
        "social", ("clinical_note",), "2.16.840.1.113883.10.20.22.2.17", R21, "29762-2",
        "Social History", ("Observation", "Value", "Status", "Date", "Source"),
        observations.social_history_entry, observations.is_social_history,
    ),
    SectionSpec(
        "imm", ("immunization",), "2.16.840.1.113883.10.20.22.2.2.1", R21, "11369-6",
        "Immunizations", ("Vaccine", "Lot", "Status", "Date", "Source"),
        medications.immunization_entry,
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


def build_ccd(data: ExportData) -> bytes:
    """The whole CCD as UTF-8 bytes with an XML declaration."""
    root = etree.Element(f"{{{V3}}}ClinicalDocument", nsmap={None: V3, "xsi": XSI, "sdtc": SDTC})
    write_header(root, data)
    body = sub(sub(root, "component"), "structuredBody")
    for spec in SECTIONS:
        _section(sub(body, "component"), spec, spec.records(data))
    for n, note in enumerate(notes_of(data), start=1):
        note_section(body, note, n)
    return bytes(etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True))


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
    refs: dict[int, str] = {}
    for n, rec in enumerate(records, start=1):
        refs[rec.id] = row_id = f"{spec.key}-{n}"
        row = sub(body, "tr", ID=row_id)
        for cell in _cells(spec.key, rec):
            sub(row, "td", cell)
    if spec.grouping and spec.build_group:
        for group in spec.grouping(list(records)):
            spec.build_group(section, group, refs)
        if section.find(f"{{{V3}}}entry") is None:
            # Nothing structured to say (a report with neither results nor a finding): the
            # narrative says what there is, and the section is null rather than wrongly empty
            # (an entries-required section has an entry or a nullFlavor, CONF:1198-7112).
            section.set("nullFlavor", "NI")
        return
    assert spec.build is not None
    for rec in records:
        spec.build(sub(section, "entry", typeCode="DRIV"), rec, refs[rec.id])


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
    if key in ("result", "vital", "social"):
        value = _value_text(rec)
        third = {"result": _range_text(rec), "vital": record.interpretation or ""}.get(key, status)
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
