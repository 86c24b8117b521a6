"""Notes in the CCD: each clinical note, the readable text of each source document, and each
note the patient wrote on a record, as a Notes Section holding one Note Activity (C-CDA R2.1
Companion Guide, templates 2.65 and 4.202).

One section per note: its code is the note's type (LOINC), its narrative the note's text line by
line, so a reader that knows only sections (ours among them) still gets one note per section.
Social history observations are not notes here: they have their own section.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from lxml import etree

from phr_desktop.domain.codes import LOINC, canonical_system, codes_of
from phr_desktop.domain.records import Code, PartialDate
from phr_desktop.interop.ccda.export_entries import entry_id
from phr_desktop.interop.ccda.export_values import (
    LOINC_OID,
    coded,
    sub,
    template,
    time_element,
)
from phr_desktop.interop.export_data import ExportData, ExportRecord

NOTES_SECTION = "2.16.840.1.113883.10.20.22.2.65"
NOTE_ACTIVITY = "2.16.840.1.113883.10.20.22.4.202"
AUTHOR_PARTICIPATION = "2.16.840.1.113883.10.20.22.4.119"
COMPANION_GUIDE = "2016-11-01"
GENERIC_NOTE = Code(LOINC, "34109-9", "Note")
_TEXT_TYPES = ("text/plain", "text/markdown")


@dataclass(frozen=True)
class Note:
    """One note for a Notes Section: a clinical note, a source document's text, or a note the
    patient wrote on a record (`about`, the record it is or is on)."""

    about: ExportRecord
    id_suffix: str
    codes: tuple[Code, ...]  # the LOINC note type first
    title: str
    text: str
    effective: PartialDate | None
    organisation: str | None  # who wrote it, when known


def notes_of(data: ExportData) -> Iterator[Note]:
    """Each note or document with the text it holds (one with no text has nothing to carry),
    then the patient's own notes on the exported records; made as they are written."""
    # Observations (social history, surveys) are not notes.
    documents = ("DocumentReference", "DiagnosticReport")
    for rec in data.of_kind("clinical_note", "document", resource_types=documents):
        text = note_text(rec.raw)
        if text:
            note_type = _note_type(rec)
            others = codes_of(rec.raw.get("type") or rec.raw.get("code"))
            codes = (note_type, *(c for c in others if c != note_type))
            yield Note(rec, "#note", codes, note_title(rec), text, rec.record.effective,
                       rec.record.source_system)  # fmt: skip
    for rec in data.with_notes():
        for n, text in enumerate(rec.notes, start=1):
            title = f"Patient's note on {rec.record.title}"
            yield Note(rec, f"#patient-note-{n}", (GENERIC_NOTE,), title, text, None, None)


def note_text(raw: dict[str, Any]) -> str:
    """The plain text of a DocumentReference's text attachments (the source document's
    readable text among them) or of a DiagnosticReport's conclusion and text forms."""
    parts: list[str] = []
    if isinstance(raw.get("conclusion"), str):
        parts.append(raw["conclusion"])
    attachments = [c.get("attachment") for c in raw.get("content") or () if isinstance(c, dict)]
    attachments += list(raw.get("presentedForm") or ())
    for attachment in attachments:
        if isinstance(attachment, dict):
            parts.extend(_attachment_text(attachment))
    return "\n\n".join(p.strip() for p in parts if p.strip())


def _attachment_text(attachment: dict[str, Any]) -> Iterator[str]:
    content_type = str(attachment.get("contentType") or "").split(";")[0].strip().lower()
    data = attachment.get("data")
    if content_type not in _TEXT_TYPES or not isinstance(data, str):
        return
    try:
        yield base64.b64decode(data, validate=False).decode("utf-8", errors="replace")
    except (binascii.Error, ValueError):
        return


def note_section(body: etree._Element, note: Note, n: int) -> None:
    """One Notes Section with the note's narrative and its Note Activity."""
    section = sub(sub(body, "component"), "section")
    template(section, NOTES_SECTION, COMPANION_GUIDE)
    coded(section, "code", note.codes)
    sub(section, "title", note.title)
    ref = f"note-{n}"
    paragraph = sub(sub(section, "text"), "paragraph", ID=ref)
    lines = [line for line in note.text.splitlines() if line.strip()]
    for i, line in enumerate(lines):
        if i:
            sub(paragraph, "br").tail = line
        else:
            paragraph.text = line
    entry = sub(section, "entry")
    act = sub(entry, "act", classCode="ACT", moodCode="EVN")
    template(act, NOTE_ACTIVITY, COMPANION_GUIDE)
    entry_id(act, note.about, note.id_suffix)
    # The act's code is "Note"; the specific type goes in a translation (CONF:3250-16939).
    code = sub(act, "code", code="34109-9", codeSystem=LOINC_OID, codeSystemName="LOINC",
               displayName="Note")  # fmt: skip
    note_type = note.codes[0]
    if note_type != GENERIC_NOTE:
        sub(code, "translation", code=note_type.code, codeSystem=LOINC_OID,
            codeSystemName="LOINC", displayName=note_type.display)  # fmt: skip
    sub(sub(act, "text"), "reference", value=f"#{ref}")
    sub(act, "statusCode", code="completed")
    time_element(act, "effectiveTime", note.effective, interval=False)
    author = sub(act, "author")
    template(author, AUTHOR_PARTICIPATION)
    time_element(author, "time", note.effective, interval=False)
    assigned = sub(author, "assignedAuthor")
    sub(assigned, "id", nullFlavor="NI")
    if note.organisation:
        sub(sub(assigned, "representedOrganization"), "name", note.organisation)


def note_title(rec: ExportRecord) -> str:
    """The note's own title (a C-CDA section's, kept as the description), else its type's;
    the text of a whole source document says that it is one."""
    description = rec.raw.get("description")
    title = description if isinstance(description, str) and description else rec.record.title
    if _is_source_document(rec.raw) and not title.lower().startswith("source document"):
        title = f"Source document: {title}"
    return title


def _is_source_document(raw: dict[str, Any]) -> bool:
    """A DocumentReference to a kept source file (a C-CDA, a PDF…), not a note's own text."""
    return any(
        isinstance(c, dict)
        and isinstance(c.get("attachment"), dict)
        and c["attachment"].get("url")
        and not str(c["attachment"].get("contentType") or "").startswith("text/")
        for c in raw.get("content") or ()
    )


def _note_type(rec: ExportRecord) -> Code:
    """The note's LOINC type (a Notes Section's code is a LOINC note type), else "Note"."""
    concept = rec.raw.get("type") or rec.raw.get("code")
    for code in codes_of(concept):
        if code.code and canonical_system(code.system) == LOINC:
            return Code(LOINC, code.code, code.display)
    return GENERIC_NOTE
