"""Record fields of documents and imaging studies, for `normalise`.

Each builder returns the `Record` fields it knows, reading its resource in the order the flags
should come out (a record's flags are shown in the order they were found): the value's
numbers, then dates, then the reference range.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from phr_desktop.domain.codes import codes_and_display, codes_of, display_of, first_of
from phr_desktop.domain.fhir_values import (
    Flags,
    as_list,
    attachment_text,
    category_codes,
    clean_text,
    path_get,
    read_date,
    reference_display,
    reference_of,
)
from phr_desktop.domain.imaging import DICOM_SYSTEM, imaging_summary, imaging_title
from phr_desktop.domain.records import Code, RecordKind

# Hot names as module constants: an import normalises a hundred thousand resources, and an
# enum member read from its class costs an attribute lookup each time.
_NOTE, _DOCUMENT, _IMAGING = RecordKind.CLINICAL_NOTE, RecordKind.DOCUMENT, RecordKind.IMAGING
_NOTE_TYPE_LOINC = frozenset(
    {
        "11506-3",
        "34117-2",
        "11488-4",
        "18842-5",
        "28570-0",
        "34111-5",
        "11492-6",
        "34133-9",
        "57133-1",
        "51845-6",
        "11526-1",
        "34746-8",
        "68608-9",
    }
)


def document_reference_fields(res: Mapping[str, Any], flags: Flags) -> dict[str, Any]:
    type_codes, type_display = codes_and_display(res.get("type"))
    categories = category_codes(res)
    contents = as_list(res.get("content"))
    attachments = [c.get("attachment") for c in contents if isinstance(c, dict)]
    is_note = "clinical-note" in categories or any(c.code in _NOTE_TYPE_LOINC for c in type_codes)
    title = type_display or clean_text(res.get("description"))
    if not title:
        first = first_of(attachments)
        title = clean_text(first.get("title")) if isinstance(first, dict) else None
    encounter = first_of(path_get(res.get("context"), "encounter"))
    return {
        "kind": _NOTE if is_note else _DOCUMENT,
        "title": title or "Document",
        "codes": type_codes,
        "category": categories[0] if categories else None,
        "effective": read_date(
            flags, res.get("date"), path_get(res.get("context"), "period", "start")
        ),
        "status": clean_text(res.get("status")),
        "facility": reference_display(res.get("custodian")),
        "encounter_ref": clean_text(encounter.get("reference"))
        if isinstance(encounter, Mapping)
        else None,
        "text_parts": [
            clean_text(res.get("description")) or "",
            *(attachment_text(a) for a in attachments),
        ],
    }


def imaging_study_fields(res: Mapping[str, Any], flags: Flags) -> dict[str, Any]:
    """A study's description only: series and images are counted, never fetched."""
    summary = imaging_summary(res)
    procedure = [c for concept in as_list(res.get("procedureCode")) for c in codes_of(concept)]
    modalities = tuple(Code(DICOM_SYSTEM, code, None) for code in summary.modality_codes)
    return {
        "kind": _IMAGING,
        "title": imaging_title(res, summary),
        "codes": (*procedure, *modalities),
        "category": first_of(list(summary.modality_codes)),
        "effective": read_date(flags, res.get("started")),
        "status": clean_text(res.get("status")),
        "encounter_ref": reference_of(res.get("encounter")),
        "facility": reference_display(res.get("location")),
        "text_parts": [
            *summary.modalities,
            *summary.body_sites,
            *(display_of(c) for c in as_list(res.get("reasonCode")) if isinstance(c, dict)),
            *(
                clean_text(s.get("description")) or ""
                for s in as_list(res.get("series"))
                if isinstance(s, dict)
            ),
        ],
    }
