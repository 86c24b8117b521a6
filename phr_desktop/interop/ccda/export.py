"""C-CDA R2.1 Continuity of Care Document from an export: header, narrative and structured entries.

One section per record kind the CCD names; each record becomes one entry whose text points at
its row in the section's narrative table. A section with nothing to say says so (nullFlavor NI).
Notes, and the readable text of source documents, follow in Notes Sections (export_notes).

The document is written as it is made (PrettyXmlStream), a narrative row or an entry at a
time, each dropped once written: a section is walked twice (its narrative table, then its
entries), so its records need not be held, and 500k records cost a few pages of memory.
"""

from __future__ import annotations

import io
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import BinaryIO, Protocol

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
from phr_desktop.interop.export_data import ExportData, ExportRecord, RecordTest, pick
from phr_desktop.interop.pretty_xml_stream import PrettyXmlStream

R21 = entries.R21
# Check for a cancel every so many rows or entries written.
_CHECK_EVERY = 500
# Records of grouped entries read together (about a page of them).
_GROUP_CHUNK = 500


class GroupedEntries(Protocol):
    """The entries of a section whose entries hold several records (a report's results, vital
    signs taken together): found by position as the narrative rows go by (`see`), then
    grouped (`find`), each group written as one entry (`write`)."""

    @staticmethod
    def has_entries(records: Sequence[ExportRecord], reports: Sequence[ExportRecord]) -> bool: ...

    def see(self, position: int, rec: ExportRecord) -> None: ...

    def find(self, reports: Iterable[ExportRecord]) -> Iterator[list[int]]: ...

    def write(
        self, section: etree._Element, group: list[ExportRecord], refs: dict[int, str]
    ) -> None: ...


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
    belongs: RecordTest | None = None  # among records of its kinds; None: all of them
    grouping: Callable[[], GroupedEntries] | None = None

    def records(self, data: ExportData) -> Sequence[ExportRecord]:
        return data.of_kind(*self.kinds, where=self.belongs)


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
        grouping=results.ResultGroups,
    ),
    SectionSpec(
        "vital", ("vital_sign",), "2.16.840.1.113883.10.20.22.2.4.1", R21, "8716-3",
        "Vital Signs", ("Measurement", "Value", "Interpretation", "Date", "Source"), None,
        grouping=results.VitalGroups,
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


def write_ccd(
    data: ExportData, out: BinaryIO, *, between: Callable[[], None] = lambda: None
) -> None:
    """The whole CCD, UTF-8 with an XML declaration, written to `out` as it is made.
    `between` is called every so many rows and entries: raising there (a cancel) stops it."""
    root = etree.Element(f"{{{V3}}}ClinicalDocument", nsmap={None: V3, "xsi": XSI, "sdtc": SDTC})
    stream = PrettyXmlStream(out, root)
    write_header(root, data)
    stream.open(sub(root, "component"))
    stream.open(sub(stream.parent, "structuredBody"))
    for spec in SECTIONS:
        between()
        _write_section(stream, spec, data, between)
    for n, note in enumerate(notes_of(data), start=1):
        note_section(stream.parent, note, n)
        stream.flush()
        if n % _CHECK_EVERY == 0:
            between()
    for _ in range(3):  # structuredBody, component, ClinicalDocument
        stream.close()


def build_ccd(data: ExportData) -> bytes:
    """The whole CCD as UTF-8 bytes with an XML declaration."""
    out = io.BytesIO()
    write_ccd(data, out)
    return out.getvalue()


# --- sections and narrative ----------------------------------------------------------------


def _write_section(
    stream: PrettyXmlStream, spec: SectionSpec, data: ExportData, between: Callable[[], None]
) -> None:
    records = spec.records(data)
    grouped = spec.grouping() if spec.grouping else None
    reports: Sequence[ExportRecord] = ()
    if grouped is not None:
        reports = data.of_kind(*spec.kinds, resource_types=("DiagnosticReport",))
    has_entries = bool(records) and (grouped is None or grouped.has_entries(records, reports))
    stream.open(sub(stream.parent, "component"))
    section = sub(stream.parent, "section", nullFlavor=None if has_entries else "NI")
    stream.open(section)
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
    if not records:
        sub(sub(section, "text"), "paragraph", "No information")
    else:
        _write_narrative(stream, spec, records, grouped, between)
        if grouped is not None:
            _write_groups(stream, spec, records, grouped, reports, between)
        else:
            assert spec.build is not None
            for n, rec in enumerate(records, start=1):
                spec.build(sub(stream.parent, "entry", typeCode="DRIV"), rec, f"{spec.key}-{n}")
                stream.flush()
                if n % _CHECK_EVERY == 0:
                    between()
    stream.close()  # section
    stream.close()  # component


def _write_narrative(
    stream: PrettyXmlStream,
    spec: SectionSpec,
    records: Sequence[ExportRecord],
    grouped: GroupedEntries | None,
    between: Callable[[], None],
) -> None:
    """The section's table, a row per record, its ID the `{key}-{n}` its entries point at."""
    stream.open(sub(stream.parent, "text"))
    table = sub(stream.parent, "table", border="1", width="100%")
    stream.open(table)
    header_row = sub(sub(table, "thead"), "tr")
    for column in spec.columns:
        sub(header_row, "th", column)
    stream.open(sub(table, "tbody"))
    for n, rec in enumerate(records, start=1):
        row = sub(stream.parent, "tr", ID=f"{spec.key}-{n}")
        for cell in _cells(spec.key, rec):
            sub(row, "td", cell)
        stream.flush()
        if grouped is not None:
            grouped.see(n - 1, rec)
        if n % _CHECK_EVERY == 0:
            between()
    for _ in range(3):  # tbody, table, text
        stream.close()


def _write_groups(
    stream: PrettyXmlStream,
    spec: SectionSpec,
    records: Sequence[ExportRecord],
    grouped: GroupedEntries,
    reports: Sequence[ExportRecord],
    between: Callable[[], None],
) -> None:
    """Each group's entry, in order. A report's results, or vital signs taken together, may
    lie anywhere in the section: the records of a few hundred groups are read together."""
    chunk: list[list[int]] = []
    chunk_records = 0

    def write_chunk() -> None:
        picked = iter(pick(records, [p for positions in chunk for p in positions]))
        for positions in chunk:
            group = [next(picked) for _ in positions]
            refs = {rec.id: f"{spec.key}-{p + 1}" for p, rec in zip(positions, group, strict=True)}
            grouped.write(stream.parent, group, refs)
            stream.flush()
        chunk.clear()
        between()

    for positions in grouped.find(reports):
        chunk.append(positions)
        chunk_records += len(positions)
        if chunk_records >= _GROUP_CHUNK:
            write_chunk()
            chunk_records = 0
    write_chunk()


def _cells(key: str, rec: ExportRecord) -> list[str]:
    record = rec.record  # the raw resource is read only by the rows that need it
    date = _date_text(record.effective)
    source = record.source_system or ""
    status = record.status or ""
    codes = ", ".join(f"{c.code}" for c in record.codes if c.code)
    if key == "allergy":
        reactions = [
            m.display or m.code or ""
            for r in rec.raw.get("reaction") or ()
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
        return [record.title, str(rec.raw.get("lotNumber") or ""), status, date, source]
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
