"""FHIR R4 resource (as parsed JSON) → `Record`. Lenient by design.

Real EHR data is often non-conformant, so nothing here raises on odd input: what cannot be read
becomes a data-quality flag on the record, and the raw resource is kept regardless.
"""

from __future__ import annotations

import base64
import binascii
import math
import re
from collections.abc import Callable, Mapping
from decimal import Decimal
from typing import Any

from phr_desktop.domain.codes import SNOMED, codes_of, display_of, first_of
from phr_desktop.domain.imaging import DICOM_SYSTEM, imaging_summary, imaging_title
from phr_desktop.domain.records import (
    DATA_QUALITY_TAG_SYSTEM,
    Code,
    PartialDate,
    Quantity,
    Record,
    RecordKind,
    ReferenceRange,
    parse_partial_date,
)
from phr_desktop.domain.sensitivity import sensitivity_from_source

Tagger = Callable[[RecordKind, tuple[Code, ...], str, str | None], frozenset[str]]

MAX_DOCUMENT_TEXT = 1_000_000  # characters of attachment text indexed per resource

NORMALISED_TYPES = frozenset(
    {
        "Patient",
        "Condition",
        "Observation",
        "MedicationRequest",
        "MedicationStatement",
        "MedicationAdministration",
        "Procedure",
        "DiagnosticReport",
        "DocumentReference",
        "AllergyIntolerance",
        "Immunization",
        "Encounter",
        "ImagingStudy",
    }
)

# Resources whose `status` FHIR R4 marks as required (1..1).
_STATUS_REQUIRED = frozenset(NORMALISED_TYPES - {"Patient", "Condition", "AllergyIntolerance"})
_SURGICAL_PROCEDURE = "387713003"
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
_TAG_RE = re.compile(r"<[^>]+>")


class _Reader:
    """Collects data-quality flags while reading one resource."""

    def __init__(self, resource: Mapping[str, Any]) -> None:
        self.resource = resource
        self.flags: list[str] = []

    def date(self, *candidates: Any) -> PartialDate | None:
        for value in candidates:
            if value is None:
                continue
            parsed = parse_partial_date(value)
            if parsed is not None:
                return parsed
            self.flags.append(f"unreadable date {str(value)[:40]!r}")
        return None

    def get(self, *path: str) -> Any:
        node: Any = self.resource
        for key in path:
            if not isinstance(node, dict):
                return None
            node = node.get(key)
        return node


def _list(value: Any) -> list[Any]:
    """A FHIR 0..* element as a list; anything else (absent, or a wrong shape) as []."""
    return value if isinstance(value, list) else []


def _text(value: Any) -> str | None:
    return value.strip() if isinstance(value, str) and value.strip() else None


def _number(value: Any, r: _Reader | None = None) -> float | None:
    if isinstance(value, bool):
        return None
    # Decimal arrives when the reader kept exact number literals ("1.50").
    if isinstance(value, int | float | Decimal):
        number = float(value)
        if math.isfinite(number):
            return number
        if r is not None:  # "1e400": no float holds it; the raw resource keeps it as written
            r.flags.append(f"number out of range {_literal(value)} (kept as written)")
    return None


def _literal(value: Any) -> str:
    """How the source wrote a number (readers keep it on the Decimal), cut for display."""
    text = str(getattr(value, "literal", None) or value)
    return text if len(text) <= 40 else text[:39] + "…"


def _out_of_range(value: Any) -> bool:
    return isinstance(value, float | Decimal) and not math.isfinite(float(value))


def _reference_display(ref: Any) -> str | None:
    return _text(ref.get("display")) if isinstance(ref, dict) else None


def _quantity(q: Any, r: _Reader | None = None) -> Quantity | None:
    if not isinstance(q, dict):
        return None
    unit = _text(q.get("unit")) or _text(q.get("code"))
    comparator = _text(q.get("comparator"))
    value = _number(q.get("value"), r)
    text = f"{comparator}{q.get('value')}" if comparator and value is not None else None
    if _out_of_range(q.get("value")):
        text = f"{comparator or ''}{_literal(q.get('value'))}"  # shown as written, not as "inf"
    return Quantity(value=value, unit=unit, text=text)


def _observation_value(r: _Reader) -> Quantity | None:
    res = r.resource
    if "valueQuantity" in res:
        return _quantity(res["valueQuantity"], r)
    if "valueCodeableConcept" in res:
        return Quantity(None, None, display_of(res["valueCodeableConcept"]) or None)
    for key in ("valueString", "valueDateTime", "valueTime"):
        if key in res and _text(res[key]):
            return Quantity(None, None, _text(res[key]))
    if "valueInteger" in res:
        return Quantity(_number(res["valueInteger"], r))
    if "valueBoolean" in res and isinstance(res["valueBoolean"], bool):
        return Quantity(None, None, "yes" if res["valueBoolean"] else "no")
    components = res.get("component")
    if isinstance(components, list) and components:
        parts, unit = [], None
        for comp in components:
            q = _quantity(comp.get("valueQuantity"), r) if isinstance(comp, dict) else None
            if q and q.value is not None:
                parts.append(f"{q.value:g}")
                unit = unit or q.unit
        if parts:
            return Quantity(None, unit, "/".join(parts))
    return None


def _reference_range(value: Any, r: _Reader) -> ReferenceRange | None:
    rr = first_of(value)
    if not isinstance(rr, dict):
        return None
    low, high = rr.get("low"), rr.get("high")
    return ReferenceRange(
        low=_number(low.get("value"), r) if isinstance(low, dict) else None,
        high=_number(high.get("value"), r) if isinstance(high, dict) else None,
        text=_text(rr.get("text")),
    )


def _category_codes(res: Mapping[str, Any]) -> list[str]:
    """Lower-cased category codes and texts, for simple membership tests."""
    categories = res.get("category")
    if isinstance(categories, dict):  # some servers send one object, not a list
        categories = [categories]
    out: list[str] = []
    for cat in _list(categories):
        if not isinstance(cat, dict):
            continue
        for coding in _list(cat.get("coding")):
            code = coding.get("code") if isinstance(coding, dict) else None
            if isinstance(code, str) and code:
                out.append(code.lower())
        text = display_of(cat)
        if text:
            out.append(text.lower())
    return out


def _attachment_text(attachment: Any) -> str:
    if not isinstance(attachment, dict):
        return ""
    content_type = str(attachment.get("contentType") or "").lower()
    data = attachment.get("data")
    if not isinstance(data, str) or not content_type.startswith(("text/plain", "text/html")):
        return ""
    try:
        text = base64.b64decode(data, validate=False)[: MAX_DOCUMENT_TEXT * 4].decode(
            "utf-8", errors="replace"
        )
    except (binascii.Error, ValueError):
        return ""
    if content_type.startswith("text/html"):
        text = _TAG_RE.sub(" ", text)
    return text[:MAX_DOCUMENT_TEXT]


def _notes_text(res: Mapping[str, Any]) -> list[str]:
    notes = res.get("note")
    return (
        [n["text"] for n in notes if isinstance(n, dict) and _text(n.get("text"))]
        if isinstance(notes, list)
        else []
    )


def _status(res: Mapping[str, Any], key: str = "status") -> str | None:
    value = res.get(key)
    if isinstance(value, dict):  # clinicalStatus is a CodeableConcept
        for coding in codes_of(value):
            if coding.code:
                return coding.code
        return display_of(value) or None
    return _text(value)


def _encounter_class(res: Mapping[str, Any]) -> tuple[str | None, str | None]:
    cls = res.get("class")
    if isinstance(cls, list):  # FHIR R5 shape seen in the wild
        cls = first_of(cls)
    codes = codes_of(cls)
    code = codes[0].code if codes else None
    return (code.upper() if code else None), display_of(cls) or None


def normalise(resource: Mapping[str, Any], tagger: Tagger | None = None) -> Record | None:
    """The record for a resource of a type we show; None for other types (kept raw only)."""
    rtype = resource.get("resourceType")
    if rtype not in NORMALISED_TYPES:
        return None
    r = _Reader(resource)
    rid = _text(resource.get("id")) or ""
    if not rid:
        r.flags.append("no id")
    if rtype in _STATUS_REQUIRED and not _text(resource.get("status")):
        r.flags.append("missing status")
    for tag in _list(r.get("meta", "tag")):
        if isinstance(tag, dict) and tag.get("system") == DATA_QUALITY_TAG_SYSTEM:
            r.flags.append(_text(tag.get("display")) or "data-quality problem in the source")
    builder = _BUILDERS[rtype]
    fields = builder(r)
    kind: RecordKind = fields.pop("kind")
    codes: tuple[Code, ...] = fields.pop("codes", ())
    title = fields.pop("title", None) or rtype
    value: Quantity | None = fields.get("value")
    tags = tagger(kind, codes, title, value.text if value else None) if tagger else frozenset()
    meta_source = _text(r.get("meta", "source"))
    text_parts = [*fields.pop("text_parts", []), *_notes_text(resource)]
    return Record(
        resource_type=rtype,
        resource_id=rid,
        kind=kind,
        title=title,
        codes=codes,
        tags=tags,
        source_system=meta_source,
        text="\n".join(p for p in text_parts if p),
        quality=tuple(dict.fromkeys(r.flags)),
        sensitivity=sensitivity_from_source(resource).value,
        **fields,
    )


# --- one builder per resource type: return the Record fields they know ---------------------


def _patient(r: _Reader) -> dict[str, Any]:
    name = first_of(r.get("name"))
    title = None
    if isinstance(name, dict):
        given = _list(name.get("given"))
        title = _text(name.get("text")) or " ".join(
            [str(g) for g in given] + ([str(name["family"])] if name.get("family") else [])
        )
    return {
        "kind": RecordKind.PATIENT,
        "title": title or "Patient",
        "effective": r.date(r.get("birthDate")),
        "category": "demographics",
        "status": "active" if r.get("active") is not False else "inactive",
        "facility": _reference_display(r.get("managingOrganization")),
    }


def _condition(r: _Reader) -> dict[str, Any]:
    res = r.resource
    onset_period = res.get("onsetPeriod")
    if not (res.get("code")):
        r.flags.append("no code")
    return {
        "kind": RecordKind.PROBLEM,
        "title": display_of(res.get("code")),
        "codes": codes_of(res.get("code")),
        "effective": r.date(
            res.get("onsetDateTime"),
            onset_period.get("start") if isinstance(onset_period, dict) else None,
            res.get("recordedDate"),
        ),
        "category": first_of(_category_codes(res)),
        "status": _status(res, "clinicalStatus"),
        "encounter_ref": _text(r.get("encounter", "reference")),
        "facility": _reference_display(res.get("asserter")),
    }


def _observation(r: _Reader) -> dict[str, Any]:
    res = r.resource
    categories = _category_codes(res)
    if "vital-signs" in categories:
        kind = RecordKind.VITAL_SIGN
    elif "imaging" in categories:
        kind = RecordKind.IMAGING
    elif {"social-history", "survey", "activity", "therapy"} & set(categories):
        kind = RecordKind.CLINICAL_NOTE
    else:
        kind = RecordKind.LAB_RESULT
    if not res.get("code"):
        r.flags.append("no code")
    interpretation = first_of(res.get("interpretation"))
    interp_codes = codes_of(interpretation)
    value = _observation_value(r)
    return {
        "kind": kind,
        "title": display_of(res.get("code")),
        "codes": codes_of(res.get("code")),
        "category": first_of(categories),
        "effective": r.date(
            res.get("effectiveDateTime"),
            r.get("effectivePeriod", "start"),
            res.get("effectiveInstant"),
            res.get("issued"),
        ),
        "value": value,
        "reference_range": _reference_range(res.get("referenceRange"), r),
        "interpretation": (interp_codes[0].code if interp_codes and interp_codes[0].code else None)
        or (display_of(interpretation) or None),
        "status": _text(res.get("status")),
        "encounter_ref": _text(r.get("encounter", "reference")),
        "facility": _reference_display(first_of(res.get("performer"))),
        "text_parts": [value.text]
        if value and value.text and kind is RecordKind.CLINICAL_NOTE
        else [],
    }


def _medication_title(res: Mapping[str, Any]) -> tuple[str, tuple[Code, ...]]:
    concept = res.get("medicationCodeableConcept")
    if concept:
        return display_of(concept), codes_of(concept)
    return _reference_display(res.get("medicationReference")) or "Medication", ()


def _medication(r: _Reader, category: str, *dates: Any) -> dict[str, Any]:
    res = r.resource
    title, codes = _medication_title(res)
    dosage = (
        first_of(res.get("dosageInstruction")) or first_of(res.get("dosage")) or res.get("dosage")
    )
    dose_text = _text(dosage.get("text")) if isinstance(dosage, dict) else None
    dose = None
    if isinstance(dosage, dict):
        # MedicationAdministration says dosage.dose; Request/Statement say doseAndRate[].
        rate = first_of(dosage.get("doseAndRate"))
        dose = _quantity(dosage.get("dose"), r) or (
            _quantity(rate.get("doseQuantity"), r) if isinstance(rate, dict) else None
        )
    return {
        "kind": RecordKind.MEDICATION,
        "title": title,
        "codes": codes,
        "category": category,
        "effective": r.date(*dates),
        "value": dose
        if dose and (dose.value is not None or dose.text)
        else (Quantity(None, None, dose_text) if dose_text else None),
        "status": _text(res.get("status")),
        "encounter_ref": _text(r.get("encounter", "reference"))
        or _text(r.get("context", "reference")),
        "facility": _reference_display(res.get("requester"))
        or _reference_display(first_of(res.get("performer"))),
    }


def _medication_request(r: _Reader) -> dict[str, Any]:
    bounds = r.get("dosageInstruction")
    start = None
    first = first_of(bounds)
    if isinstance(first, dict):
        start = (((first.get("timing") or {}).get("repeat") or {}).get("boundsPeriod") or {}).get(
            "start"
        )
    return _medication(r, "request", r.get("authoredOn"), start)


def _medication_statement(r: _Reader) -> dict[str, Any]:
    return _medication(
        r,
        "statement",
        r.get("effectiveDateTime"),
        r.get("effectivePeriod", "start"),
        r.get("dateAsserted"),
    )


def _medication_administration(r: _Reader) -> dict[str, Any]:
    return _medication(
        r,
        "administration",
        r.get("effectiveDateTime"),
        r.get("effectivePeriod", "start"),
    )


def _procedure(r: _Reader) -> dict[str, Any]:
    res = r.resource
    category = res.get("category")
    cat_codes = codes_of(category)
    cat_text = (display_of(category) or "").lower()
    is_surgery = any(c.system == SNOMED and c.code == _SURGICAL_PROCEDURE for c in cat_codes)
    return {
        "kind": RecordKind.PROCEDURE,
        "title": display_of(res.get("code")),
        "codes": codes_of(res.get("code")),
        "category": "surgery" if is_surgery or "surg" in cat_text else (cat_text or None),
        "effective": r.date(res.get("performedDateTime"), r.get("performedPeriod", "start")),
        "status": _text(res.get("status")),
        "encounter_ref": _text(r.get("encounter", "reference")),
        "facility": _reference_display(res.get("location")),
    }


def _diagnostic_report(r: _Reader) -> dict[str, Any]:
    res = r.resource
    categories = _category_codes(res)
    if {"rad", "lp29684-5", "imaging", "radiology"} & set(categories):
        kind = RecordKind.IMAGING
    elif {"lab", "laboratory", "hm", "ch"} & set(categories) or not categories:
        kind = RecordKind.LAB_RESULT
    else:
        kind = RecordKind.CLINICAL_NOTE
    forms = res.get("presentedForm")
    text_parts = [_text(res.get("conclusion")) or ""]
    text_parts += [_attachment_text(a) for a in forms] if isinstance(forms, list) else []
    return {
        "kind": kind,
        "title": display_of(res.get("code")),
        "codes": codes_of(res.get("code")),
        "category": first_of(categories),
        "effective": r.date(
            res.get("effectiveDateTime"),
            r.get("effectivePeriod", "start"),
            res.get("issued"),
        ),
        "status": _text(res.get("status")),
        "encounter_ref": _text(r.get("encounter", "reference")),
        "facility": _reference_display(first_of(res.get("performer"))),
        "value": Quantity(None, None, _text(res.get("conclusion")))
        if res.get("conclusion")
        else None,
        "text_parts": text_parts,
    }


def _document_reference(r: _Reader) -> dict[str, Any]:
    res = r.resource
    type_codes = codes_of(res.get("type"))
    categories = _category_codes(res)
    contents = _list(res.get("content"))
    attachments = [c.get("attachment") for c in contents if isinstance(c, dict)]
    is_note = "clinical-note" in categories or any(c.code in _NOTE_TYPE_LOINC for c in type_codes)
    title = display_of(res.get("type")) or _text(res.get("description"))
    if not title:
        first = first_of(attachments)
        title = _text(first.get("title")) if isinstance(first, dict) else None
    return {
        "kind": RecordKind.CLINICAL_NOTE if is_note else RecordKind.DOCUMENT,
        "title": title or "Document",
        "codes": type_codes,
        "category": first_of(categories),
        "effective": r.date(res.get("date"), r.get("context", "period", "start")),
        "status": _text(res.get("status")),
        "facility": _reference_display(res.get("custodian")),
        "encounter_ref": _text((first_of(r.get("context", "encounter")) or {}).get("reference"))
        if isinstance(first_of(r.get("context", "encounter")), Mapping)
        else None,
        "text_parts": [
            _text(res.get("description")) or "",
            *(_attachment_text(a) for a in attachments),
        ],
    }


def _allergy(r: _Reader) -> dict[str, Any]:
    res = r.resource
    reactions = _list(res.get("reaction"))
    manifestations = [
        display_of(m)
        for reaction in reactions
        if isinstance(reaction, dict)
        for m in _list(reaction.get("manifestation"))
    ]
    return {
        "kind": RecordKind.ALLERGY,
        "title": display_of(res.get("code")),
        "codes": codes_of(res.get("code")),
        "category": first_of(res.get("category"))
        if isinstance(first_of(res.get("category")), str)
        else None,
        "effective": r.date(res.get("onsetDateTime"), res.get("recordedDate")),
        "status": _status(res, "clinicalStatus"),
        "interpretation": _text(res.get("criticality")),
        "value": Quantity(None, None, ", ".join(m for m in manifestations if m))
        if manifestations
        else None,
        "encounter_ref": _text(r.get("encounter", "reference")),
    }


def _immunization(r: _Reader) -> dict[str, Any]:
    res = r.resource
    return {
        "kind": RecordKind.IMMUNIZATION,
        "title": display_of(res.get("vaccineCode")),
        "codes": codes_of(res.get("vaccineCode")),
        "effective": r.date(res.get("occurrenceDateTime"), res.get("recorded")),
        "status": _text(res.get("status")),
        "facility": _reference_display(res.get("location")),
        "encounter_ref": _text(r.get("encounter", "reference")),
    }


def _encounter(r: _Reader) -> dict[str, Any]:
    res = r.resource
    class_code, class_text = _encounter_class(res)
    type_concept = first_of(res.get("type"))
    location = first_of(res.get("location"))
    return {
        "kind": RecordKind.ENCOUNTER,
        "title": display_of(type_concept) or class_text or "Encounter",
        "codes": codes_of(type_concept),
        "category": class_code,
        "effective": r.date(r.get("period", "start")),
        "status": _text(res.get("status")),
        "facility": _reference_display(res.get("serviceProvider"))
        or (_reference_display(location.get("location")) if isinstance(location, dict) else None),
        "text_parts": [display_of(c) for c in res.get("reasonCode") or [] if isinstance(c, dict)],
    }


def _imaging_study(r: _Reader) -> dict[str, Any]:
    """A study's description only: series and images are counted, never fetched."""
    res = r.resource
    summary = imaging_summary(res)
    procedure = [c for concept in _list(res.get("procedureCode")) for c in codes_of(concept)]
    modalities = tuple(Code(DICOM_SYSTEM, code, None) for code in summary.modality_codes)
    return {
        "kind": RecordKind.IMAGING,
        "title": imaging_title(res, summary),
        "codes": (*procedure, *modalities),
        "category": first_of(list(summary.modality_codes)),
        "effective": r.date(res.get("started")),
        "status": _text(res.get("status")),
        "encounter_ref": _text(r.get("encounter", "reference")),
        "facility": _reference_display(res.get("location")),
        "text_parts": [
            *summary.modalities,
            *summary.body_sites,
            *(display_of(c) for c in _list(res.get("reasonCode")) if isinstance(c, dict)),
            *(
                _text(s.get("description")) or ""
                for s in _list(res.get("series"))
                if isinstance(s, dict)
            ),
        ],
    }


_BUILDERS: dict[str, Callable[[_Reader], dict[str, Any]]] = {
    "Patient": _patient,
    "Condition": _condition,
    "Observation": _observation,
    "MedicationRequest": _medication_request,
    "MedicationStatement": _medication_statement,
    "MedicationAdministration": _medication_administration,
    "Procedure": _procedure,
    "DiagnosticReport": _diagnostic_report,
    "DocumentReference": _document_reference,
    "AllergyIntolerance": _allergy,
    "Immunization": _immunization,
    "Encounter": _encounter,
    "ImagingStudy": _imaging_study,
}
