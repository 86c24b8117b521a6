"""FHIR exports: a `collection` Bundle of every stored resource, and an IPS-style `document`.

Stored resources are written from their stored bytes (spliced in, never re-serialised through
models) so number literals such as "1.50" survive. The patient's own notes become
DocumentReferences (LOINC 51855-5 "Patient Note") that point at the record they annotate.
"""

from __future__ import annotations

import base64
import itertools
import json
import uuid
from collections.abc import Callable, Iterable, Iterator
from html import escape
from pathlib import Path
from typing import Any

import orjson

from phr_desktop.domain.trends import trend_key
from phr_desktop.interop.export_data import ExportData, ExportRecord

LOINC = "http://loinc.org"
_URN_NAMESPACE = uuid.UUID("7d3c1f0e-5a7b-4b8e-9a57-2f1d3b9c6e41")  # phr-desktop's own
_XHTML = "http://www.w3.org/1999/xhtml"

Selector = Callable[[ExportData], list["ExportRecord"]]


def resource_urn(resource_type: str, resource_id: str, source: str | None) -> str:
    """A `urn:uuid:` fullUrl that is the same in every export of the same stored resource."""
    name = f"{source or ''}|{resource_type}/{resource_id}"
    return f"urn:uuid:{uuid.uuid5(_URN_NAMESPACE, name)}"


def _urn(rec: ExportRecord) -> str:
    return resource_urn(rec.record.resource_type, rec.record.resource_id, rec.record.source_system)


def _bundle_header(data: ExportData, bundle_type: str, kind: str) -> dict[str, Any]:
    # Same content at the same instant gives the same identifier; a later export gets a new one.
    ident = uuid.uuid5(_URN_NAMESPACE, f"{kind}|{data.generated_at}|{len(data.records)}")
    return {
        "resourceType": "Bundle",
        "id": str(ident),
        "meta": {"lastUpdated": data.generated_at},
        "identifier": {"system": "urn:ietf:rfc:3986", "value": f"urn:uuid:{ident}"},
        "type": bundle_type,
        "timestamp": data.generated_at,
    }


# ---- collection ------------------------------------------------------------------------------


def _note_resource(data: ExportData, rec: ExportRecord, index: int, text: str) -> dict[str, Any]:
    note_id = f"note-{rec.id}-{index}"
    resource: dict[str, Any] = {
        "resourceType": "DocumentReference",
        "id": note_id,
        "status": "current",
        "type": {"coding": [{"system": LOINC, "code": "51855-5", "display": "Patient Note"}]},
        "description": text.strip().splitlines()[0][:120] if text.strip() else "Patient note",
        "content": [
            {
                "attachment": {
                    "contentType": "text/plain; charset=utf-8",
                    "data": base64.b64encode(text.encode("utf-8")).decode("ascii"),
                    "title": f"My note on: {rec.record.title}",
                }
            }
        ],
        "context": {"related": [{"reference": _urn(rec), "display": rec.record.title}]},
    }
    if data.patient is not None:
        patient_ref = {"reference": _urn(data.patient), "display": data.patient_name}
        resource["subject"] = patient_ref
        resource["author"] = [patient_ref]
    return resource


def note_resources(data: ExportData) -> list[tuple[str, dict[str, Any]]]:
    """(fullUrl, DocumentReference) for each of the patient's notes on an exported record."""
    found = []
    for rec in data.with_notes():
        for index, text in enumerate(rec.notes, start=1):
            resource = _note_resource(data, rec, index, text)
            found.append(
                (resource_urn("DocumentReference", resource["id"], "phr-desktop"), resource)
            )
    return found


def collection_bundle(data: ExportData, extra: Iterable[dict[str, Any]] = ()) -> bytes:
    """Every exported raw resource (Patient first) exactly as stored, plus the patient's notes
    and any `extra` entries (a share's attached files)."""
    return b"".join(collection_pieces(data, extra))


def write_collection_bundle(
    data: ExportData, path: Path, *, between: Callable[[], None] = lambda: None
) -> None:
    """`collection_bundle` written to `path` as it is made: the bundle of 500k resources is
    never whole in memory, nor are its stored bodies (read in batches as the entries go by).
    `between` is called before the first entry and every `_CHECK_EVERY` pieces after: raising
    there (a cancel) stops a long export without reading the rest."""
    with path.open("wb", buffering=_WRITE_BUFFER) as out:
        for index, piece in enumerate(collection_pieces(data)):
            if index % _CHECK_EVERY == 1:  # piece 0 is the header; 1 the first entry
                between()
            out.write(piece)


_WRITE_BUFFER = 1 << 20
_CHECK_EVERY = 1000


def collection_pieces(data: ExportData, extra: Iterable[dict[str, Any]] = ()) -> Iterator[bytes]:
    """The collection Bundle in pieces whose concatenation is exactly `orjson.dumps` of the
    whole Bundle (header keys, then "entry" last), one entry at a time."""
    header = orjson.dumps(_bundle_header(data, "collection", "collection"))
    yield header[:-1] + b',"entry":['
    separator = b""
    for entry in _collection_entries(data, extra):
        yield separator + orjson.dumps(entry)
        separator = b","
    yield b"]}"


def _collection_entries(
    data: ExportData, extra: Iterable[dict[str, Any]]
) -> Iterator[dict[str, Any]]:
    stored = itertools.chain(
        [data.patient] if data.patient else [], data.other_patients, data.records
    )
    for rec in stored:
        yield {"fullUrl": _urn(rec), "resource": orjson.Fragment(rec.raw_body)}
    for url, resource in note_resources(data):
        yield {"fullUrl": url, "resource": resource}
    yield from extra


# ---- IPS document ----------------------------------------------------------------------------

_EMPTY_REASON = {
    "coding": [
        {
            "system": "http://terminology.hl7.org/CodeSystem/list-empty-reason",
            "code": "unavailable",
            "display": "Unavailable",
        }
    ]
}
_INACTIVE = {"inactive", "resolved", "remission", "entered-in-error", "refuted"}


def _is_current(rec: ExportRecord) -> bool:
    return (rec.record.status or "").lower() not in _INACTIVE


def _current(kind_types: tuple[str, ...], statuses: set[str] | None = None) -> Selector:
    def select(data: ExportData) -> list[ExportRecord]:
        found = [r for r in data.records if r.record.resource_type in kind_types]
        if statuses is None:
            return [r for r in found if _is_current(r)]
        return [r for r in found if (r.record.status or "").lower() in statuses]

    return select


def _latest_per_test(*kinds: str) -> Selector:
    def select(data: ExportData) -> list[ExportRecord]:
        latest: dict[tuple[str, str], ExportRecord] = {}
        for rec in data.of_kind(*kinds):  # oldest first, so the last one seen wins
            if rec.record.effective is None:
                continue
            key = trend_key(rec.record)
            seen = latest.get(key)
            if seen is None or (
                seen.record.effective is not None
                and rec.record.effective.sort_key >= seen.record.effective.sort_key
            ):
                latest[key] = rec
        return sorted(latest.values(), key=lambda r: r.record.title.lower())

    return select


# (title, LOINC code, LOINC display, which records belong)
_SECTIONS: tuple[tuple[str, str, str, Selector], ...] = (
    ("Active Problems", "11450-4", "Problem list - Reported", _current(("Condition",))),
    (
        "Medication Summary",
        "10160-0",
        "History of Medication use Narrative",
        _current(("MedicationRequest", "MedicationStatement"), {"active", "intended", "on-hold"}),
    ),
    (
        "Allergies and Intolerances",
        "48765-2",
        "Allergies and adverse reactions Document",
        _current(("AllergyIntolerance",)),
    ),
    ("Immunizations", "11369-6", "History of Immunization Narrative", _current(("Immunization",))),
    (
        "Results",
        "30954-2",
        "Relevant diagnostic tests/laboratory data Narrative",
        _latest_per_test("lab_result", "imaging"),
    ),
    ("Vital Signs", "8716-3", "Vital signs", _latest_per_test("vital_sign")),
    (
        "History of Procedures",
        "47519-4",
        "History of Procedures Document",
        _current(("Procedure",), {"completed", "in-progress"}),
    ),
)


def _validates(resource_type: str, resource: dict[str, Any]) -> bool:
    """Whether the resource passes the R4B model: the document carries only valid content."""
    from fhir.resources.R4B import get_fhir_model_class  # heavy import, only when exporting IPS

    try:
        get_fhir_model_class(resource_type).model_validate(resource)
    except (ValueError, KeyError):  # pydantic's ValidationError is a ValueError
        return False
    return True


def _exact_loads(body: bytes) -> Any:
    """Parse stored JSON keeping every number literal as written (orjson writes it back as is)."""

    def literal(text: str) -> orjson.Fragment:
        return orjson.Fragment(text.encode("ascii"))

    return json.loads(body, parse_float=literal, parse_int=literal)


def _relink(value: Any, targets: dict[str, str], patient_urn: str | None) -> Any:
    """Point references at the document's entries; a target outside it keeps only its display.

    A document must be self-contained, so `Patient/<id>` from any source becomes the one
    Patient of the summary, and references to resources left out become display-only.
    """
    if isinstance(value, list):
        return [_relink(v, targets, patient_urn) for v in value]
    if not isinstance(value, dict):
        return value
    out = {k: _relink(v, targets, patient_urn) for k, v in value.items()}
    ref = out.get("reference")
    if isinstance(ref, str) and not ref.startswith("#"):
        if ref in targets:
            out["reference"] = targets[ref]
        elif ref.startswith("Patient/") and patient_urn is not None:
            out["reference"] = patient_urn
        else:
            del out["reference"]
            out.setdefault("display", ref)
    return out


def _narrative(items: Iterable[str], empty: str) -> dict[str, str]:
    rows = "".join(f"<li>{escape(i)}</li>" for i in items)
    body = f"<ul>{rows}</ul>" if rows else f"<p>{escape(empty)}</p>"
    return {"status": "generated", "div": f'<div xmlns="{_XHTML}">{body}</div>'}


def _item_text(rec: ExportRecord) -> str:
    parts = [rec.record.title]
    value = rec.record.value
    if value is not None and (value.value is not None or value.text):
        shown = value.text if value.value is None else f"{value.value:g}"
        parts.append(f"{shown} {value.unit or ''}".strip())
    if rec.record.effective is not None:
        parts.append(rec.record.effective.text[:10])
    if rec.record.source_system:
        parts.append(f"from {rec.record.source_system}")
    return " - ".join(parts)


def _device(data: ExportData) -> dict[str, Any]:
    return {
        "resourceType": "Device",
        "id": "phr-desktop",
        "status": "active",
        "deviceName": [{"name": "phr-desktop", "type": "manufacturer-name"}],
        "version": [{"value": data.app_version}],
    }


def ips_document(data: ExportData) -> bytes:
    """An International Patient Summary style document: Composition, Patient, Device, content.

    Only resources that validate are included; a record with data-quality flags (an invalid
    date, a missing required status) is left out of the summary, though it stays in the vault
    and in the collection export.
    """
    patient_urn = _urn(data.patient) if data.patient else None
    device_urn = resource_urn("Device", "phr-desktop", "phr-desktop")
    chosen: list[tuple[str, str, str, list[ExportRecord]]] = []
    included: dict[int, ExportRecord] = {}
    for title, code, display, select in _SECTIONS:
        records = [
            r
            for r in select(data)
            if not r.record.quality and _validates(r.record.resource_type, r.raw)
        ]
        chosen.append((title, code, display, records))
        included.update((r.id, r) for r in records)

    targets = {
        f"{r.record.resource_type}/{r.record.resource_id}": _urn(r) for r in included.values()
    }
    sections = []
    for title, code, display, records in chosen:
        section: dict[str, Any] = {
            "title": title,
            "code": {"coding": [{"system": LOINC, "code": code, "display": display}]},
            "text": _narrative((_item_text(r) for r in records), "No information available."),
        }
        if records:
            section["entry"] = [{"reference": _urn(r), "display": r.record.title} for r in records]
        else:
            section["emptyReason"] = _EMPTY_REASON
        sections.append(section)

    composition: dict[str, Any] = {
        "resourceType": "Composition",
        "id": "patient-summary",
        "status": "final",
        "type": {
            "coding": [{"system": LOINC, "code": "60591-5", "display": "Patient summary Document"}]
        },
        "date": data.generated_at,
        "author": [{"reference": device_urn, "display": f"phr-desktop {data.app_version}"}],
        "title": f"Patient summary of {data.patient_name}",
        "section": sections,
    }
    if patient_urn is not None:
        composition["subject"] = {"reference": patient_urn, "display": data.patient_name}

    bundle = _bundle_header(data, "document", "ips")
    entries: list[dict[str, Any]] = [
        {
            "fullUrl": resource_urn("Composition", "patient-summary", bundle["id"]),
            "resource": composition,
        }
    ]
    if data.patient is not None and patient_urn is not None:
        entries.append({"fullUrl": patient_urn, "resource": orjson.Fragment(data.patient.raw_body)})
    entries.append({"fullUrl": device_urn, "resource": _device(data)})
    for rec in sorted(included.values(), key=lambda r: r.id):
        resource = _relink(_exact_loads(rec.raw_body), targets, patient_urn)
        entries.append({"fullUrl": _urn(rec), "resource": resource})
    bundle["entry"] = entries
    return orjson.dumps(bundle)
