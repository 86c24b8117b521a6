"""Read a C-CDA document (R1.1 / R2.1: CCD, Referral Note, Discharge Summary, Progress Note…)
into FHIR R4 resources with stable ids, so importing the same file again changes nothing.

The XML goes through the one hardened parser (xml_safety.parse_xml); the whole file is kept as
the source document by the caller, and a DocumentReference points at it.
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import orjson
from lxml import etree

from phr_desktop.domain.records import DATA_QUALITY_TAG_SYSTEM
from phr_desktop.interop.ccda.care_activities import encounters, plan_of_care, procedures
from phr_desktop.interop.ccda.medications import immunizations, medications
from phr_desktop.interop.ccda.narrative import cut_text, document_text, section_text
from phr_desktop.interop.ccda.observations import results, social_history, vitals
from phr_desktop.interop.ccda.patient import patient_resource
from phr_desktop.interop.ccda.problems_allergies import allergies, problems
from phr_desktop.interop.ccda.statements import Context, Mapper, clinical_statement
from phr_desktop.interop.ccda.values import (
    Narrative,
    attr,
    child,
    children,
    concept,
    identifiers,
    resource_id,
    template_roots,
    text_of,
    time_of,
    v,
)
from phr_desktop.interop.errors import UnreadableFile
from phr_desktop.interop.fhir.fhir_json import ParsedResource, fitted
from phr_desktop.interop.file_kinds import HEAD_BYTES, FileKind, detect, unwrap_html
from phr_desktop.interop.xml_safety import parse_xml_recovering
from phr_desktop.vault.raw_json import load_raw

CCDA_CONTENT_TYPE = "application/hl7-cda+xml"
SOURCE_DOCUMENT_URL = "urn:phr:source-document:sha256:"  # the kept file, found by its hash
MAX_NOTE_CHARS = 200_000
# A C-CDA is read whole, and the tree and resources take about 1 KB per tag at worst (measured:
# 430 MB for a dense 19 MB document of 428,000 tags). This cap keeps an import's peak memory
# under 300 MB over the file's size; the largest vendor sample has about 20,000 tags.
MAX_CCDA_TAGS = 200_000
# The document's readable text, indexed for search; normalise indexes at most 1,000,000.
MAX_DOCUMENT_TEXT_CHARS = 300_000
# IHE format code for content whose MIME type says all there is to know (plain text here).
_PLAIN_TEXT_FORMAT = {
    "system": "http://ihe.net/fhir/ihe.formatcode.fhir/CodeSystem/formatcode",
    "code": "urn:ihe:iti:xds:2017:mimeTypeSufficient",
    "display": "mimeType Sufficient",
}

# Section by templateId root (R1.1 and R2.1 share roots) and by LOINC section code.
_T = "2.16.840.1.113883.10.20.22.2."
SECTIONS: dict[str, tuple[tuple[str, ...], tuple[str, ...], Mapper]] = {
    "problems": ((_T + "5", _T + "5.1"), ("11450-4",), problems),
    "medications": ((_T + "1", _T + "1.1"), ("10160-0",), medications),
    "allergies": ((_T + "6", _T + "6.1"), ("48765-2",), allergies),
    "results": ((_T + "3", _T + "3.1"), ("30954-2",), results),
    "vitals": ((_T + "4", _T + "4.1"), ("8716-3",), vitals),
    "immunizations": ((_T + "2", _T + "2.1"), ("11369-6",), immunizations),
    "procedures": ((_T + "7", _T + "7.1"), ("47519-4",), procedures),
    "encounters": ((_T + "22", _T + "22.1"), ("46240-8",), encounters),
    "social_history": ((_T + "17",), ("29762-2",), social_history),
    "plan_of_care": ((_T + "10",), ("18776-5",), plan_of_care),
}


def _section_kind(section: etree._Element) -> str | None:
    roots = template_roots(section)
    code = attr(child(section, "code"), "code")
    for kind, (templates, codes, _mapper) in SECTIONS.items():
        if roots & set(templates) or code in codes:
            return kind
    return None


def _dumps(resource: dict[str, Any]) -> bytes:
    # Decimals carry the document's own literals ("1.50" stays "1.50").
    def exact(value: Any) -> Any:
        if isinstance(value, Decimal):
            return orjson.Fragment(str(value))
        raise TypeError(type(value).__name__)

    return fitted(orjson.dumps(resource, default=exact))


def _parsed(resource: dict[str, Any]) -> ParsedResource:
    body = _dumps(resource)
    return ParsedResource(load_raw(body), body, hashlib.sha256(body).hexdigest())


def _attachment_text(text: str) -> dict[str, Any]:
    return {
        "contentType": "text/plain; charset=utf-8",
        "data": base64.b64encode(text.encode()).decode(),
    }


def _note(
    section: etree._Element, doc_when: str | None, ctx: Context, salt: str
) -> dict[str, Any] | None:
    text = cut_text(section_text(section), MAX_NOTE_CHARS, "[The text stops here.]")
    if not text:
        return None
    title = text_of(child(section, "title")) or "Note"
    out: dict[str, Any] = {
        "resourceType": "DocumentReference",
        "id": resource_id("DocumentReference", section, salt),
        "meta": ctx.meta,
        "status": "current",
        "type": _named(concept(child(section, "code"), ctx.narrative), title),
        "subject": ctx.patient_ref,
        "description": title,
        "content": [{"attachment": {**_attachment_text(text), "title": title}}],
    }
    if doc_when:
        out["date"] = doc_when
    return out


def _document_reference(
    doc: etree._Element, data: bytes, name: str, ctx: Context, doc_when: str | None
) -> dict[str, Any]:
    digest = hashlib.sha256(data).hexdigest()
    title = text_of(child(doc, "title")) or name
    attachment: dict[str, Any] = {
        "contentType": CCDA_CONTENT_TYPE,
        "url": SOURCE_DOCUMENT_URL + digest,
        "size": len(data),
        "hash": base64.b64encode(hashlib.sha1(data).digest()).decode(),
        "title": name,
    }
    if doc_when:
        attachment["creation"] = doc_when
    out: dict[str, Any] = {
        "resourceType": "DocumentReference",
        # The document's own id when it has one, so a re-download of the same document matches.
        "id": resource_id("DocumentReference", doc, "document")
        if children(doc, "id")
        else "ccda-" + digest[:40],
        "meta": ctx.meta,
        "status": "current",
        "type": _named(concept(child(doc, "code"), ctx.narrative), title),
        "subject": ctx.patient_ref,
        "description": title,
        "content": [{"attachment": attachment, "format": _format(doc)}],
    }
    # Data a document holds only in its narrative (a table of vaccines with one placeholder
    # entry) becomes searchable and readable through this text, not just the raw XML.
    text = document_text(_sections(doc), MAX_DOCUMENT_TEXT_CHARS)
    if text:
        readable = {**_attachment_text(text), "title": "Text of the document"}
        out["content"].append({"attachment": readable, "format": _PLAIN_TEXT_FORMAT})
    ids = identifiers(doc)
    if ids:
        out["masterIdentifier"] = ids[0]
    if doc_when:
        out["date"] = doc_when
    return out


def _named(code: dict[str, Any] | None, title: str) -> dict[str, Any]:
    """A section's or document's type, named by its title when its code has no name: a LOINC
    code alone would make the note's title "LOINC 10157-6"."""
    if not code:
        return {"text": title}
    if not code.get("text"):
        code["text"] = title
    return code


def _format(doc: etree._Element) -> dict[str, str]:
    r21 = any(t.get("extension") for t in children(doc, "templateId"))
    return {
        "system": "http://ihe.net/fhir/ihe.formatcode.fhir/CodeSystem/formatcode",
        "code": "urn:hl7-org:sdwg:ccda-structuredBody:2.1"
        if r21
        else "urn:hl7-org:sdwg:ccda-structuredBody:1.1",
    }


def _custodian(doc: etree._Element) -> str | None:
    org = child(doc, "custodian", "assignedCustodian", "representedCustodianOrganization")
    return text_of(child(org, "name"))


def _sections(doc: etree._Element) -> Iterator[etree._Element]:
    body = child(doc, "component", "structuredBody")
    if body is None:
        return
    stack = [s for comp in children(body, "component") if (s := child(comp, "section")) is not None]
    while stack:
        section = stack.pop(0)
        yield section
        stack[0:0] = [
            s
            for comp in children(section, "component")
            if (s := child(comp, "section")) is not None
        ]


def _entries(
    doc: etree._Element, ctx: Context, doc_when: str | None
) -> Iterator[tuple[str, dict[str, Any]]]:
    for index, section in enumerate(_sections(doc)):
        kind = _section_kind(section)
        if kind is None:
            note = _note(section, doc_when, ctx, f"section-{index}")
            if note:
                yield "notes", note
            continue
        mapper = SECTIONS[kind][2]
        for entry in children(section, "entry"):
            statement = clinical_statement(entry)
            if statement is not None:
                for resource in mapper(statement, ctx):
                    yield kind, resource


def _read_document(data: bytes, name: str) -> tuple[etree._Element, list[str]]:
    """The ClinicalDocument element, and data-quality notes on how it had to be read.

    A web page carrying a C-CDA as raw text (a bbClear "Blue Button" page) gives up the
    C-CDA inside it; XML that is only namespace-malformed is read in recovery. Both are said
    in the notes, and the kept source file stays the one given.
    """
    notes: list[str] = []
    if detect(data[:HEAD_BYTES]) in (FileKind.HTML, FileKind.HTML_WITH_CCDA):
        inner = unwrap_html(data)
        if inner is None:
            raise UnreadableFile(
                name, None, None,
                "this is a web page (HTML), not a C-CDA document, and it holds none; save "
                "the C-CDA (XML) version of the record from the portal and import that",
            )  # fmt: skip
        data = inner
        notes.append("C-CDA taken out of the web page it came in")
    tags = data.count(b"<")
    if tags > MAX_CCDA_TAGS:
        raise UnreadableFile(
            name, None, None,
            f"this C-CDA has {tags:,} XML tags, more than the {MAX_CCDA_TAGS:,} phr-desktop "
            "reads in one piece (its memory would grow to many times the file); ask the "
            "portal for a shorter period, or for the record as FHIR JSON",
        )  # fmt: skip
    parsed = parse_xml_recovering(data, name)
    notes.extend(f"XML read in recovery: {fault}" for fault in parsed.recovered)
    return parsed.tree.getroot(), notes


def _flagged(resource: dict[str, Any], notes: list[str]) -> dict[str, Any]:
    if notes:
        tags = [{"system": DATA_QUALITY_TAG_SYSTEM, "display": note} for note in notes]
        resource["meta"] = {**resource.get("meta", {}), "tag": tags}
    return resource


def parse_ccda_with_sections(data: bytes, name: str) -> list[tuple[str, ParsedResource]]:
    """Like parse_ccda, each resource with the section kind it came from ("problems"…)."""
    doc, notes = _read_document(data, name)
    if doc.tag != v("ClinicalDocument"):
        raise UnreadableFile(
            name, None, None, "this XML is not a C-CDA document (no HL7 v3 ClinicalDocument)"
        )
    meta: dict[str, Any] = {}
    custodian = _custodian(doc)
    if custodian:
        meta["source"] = custodian
    patient = patient_resource(doc, meta)
    ctx = Context(Narrative(doc), {"reference": f"Patient/{patient['id']}"}, meta)
    doc_when = time_of(child(doc, "effectiveTime"))
    out: list[tuple[str, ParsedResource]] = [("patient", _parsed(patient))]
    seen: dict[tuple[str, str], bytes] = {}
    try:
        entries = [*_entries(doc, ctx, doc_when)]
    except etree.C14NError:  # ids come from canonical XML, which bad namespaces can prevent
        raise UnreadableFile(name, None, None, "its XML namespaces are malformed") from None
    for kind, resource in entries:
        key = (resource["resourceType"], resource["id"])
        parsed = _parsed(resource)
        if key in seen:
            if seen[key] == parsed.body:
                continue  # the same entry repeated (e.g. in two sections): keep it once
            # Two different entries claim one id: keep both, the second by content.
            resource["id"] = "ccda-" + parsed.sha256[:40]
            parsed = _parsed(resource)
            key = (resource["resourceType"], resource["id"])
            if key in seen:
                continue
        seen[key] = parsed.body
        out.append((kind, parsed))
    reference = _flagged(_document_reference(doc, data, name, ctx, doc_when), notes)
    out.append(("document", _parsed(reference)))
    return out


def parse_ccda(data: bytes, name: str) -> list[ParsedResource]:
    """All resources in a C-CDA document; UnreadableFile (nothing returned) when it is refused."""
    return [parsed for _kind, parsed in parse_ccda_with_sections(data, name)]
