"""FHIR R4 resource (as parsed JSON) → `Record`. Lenient by design.

Real EHR data is often non-conformant, so nothing here raises on odd input: what cannot be read
becomes a data-quality flag on the record, and the raw resource is kept regardless.
"""

from __future__ import annotations

import base64
import binascii
import math
import re
from collections.abc import Callable, Hashable, Mapping
from decimal import Decimal
from typing import Any

from phr_desktop.domain.codes import (
    SNOMED,
    codes_and_display,
    codes_of,
    concept_key,
    display_of,
    first_of,
)
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
    record_from_fields,
)
from phr_desktop.domain.sensitivity import Sensitivity, sensitivity_from_source

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


# Flags of one resource, in the order they were found (a record shows each once).
Flags = list[str]

# Hot names as module constants: an import normalises a hundred thousand resources, and an
# enum member read from its class costs an attribute lookup each time.
_PATIENT, _PROBLEM, _MEDICATION = RecordKind.PATIENT, RecordKind.PROBLEM, RecordKind.MEDICATION
_LAB, _VITAL, _IMAGING = RecordKind.LAB_RESULT, RecordKind.VITAL_SIGN, RecordKind.IMAGING
_NOTE, _DOCUMENT = RecordKind.CLINICAL_NOTE, RecordKind.DOCUMENT
_NOTE_OBSERVATIONS = frozenset({"social-history", "survey", "activity", "therapy"})
_IMAGING_REPORTS = frozenset({"rad", "lp29684-5", "imaging", "radiology"})
_LAB_REPORTS = frozenset({"lab", "laboratory", "hm", "ch"})
_NORMAL = Sensitivity.NORMAL.value


def _date(flags: Flags, *candidates: Any) -> PartialDate | None:
    """The first candidate that is a readable date; each unreadable one before it is flagged."""
    for value in candidates:
        if value is None:
            continue
        parsed = parse_partial_date(value)
        if parsed is not None:
            return parsed
        flags.append(f"unreadable date {str(value)[:40]!r}")
    return None


def _get(node: Any, *path: str) -> Any:
    """node[path[0]][path[1]]…, or None where a step is not an object."""
    for key in path:
        if not isinstance(node, dict):
            return None
        node = node.get(key)
    return node


def _list(value: Any) -> list[Any]:
    """A FHIR 0..* element as a list; anything else (absent, or a wrong shape) as []."""
    return value if isinstance(value, list) else []


def _text(value: Any) -> str | None:
    if isinstance(value, str):
        return value.strip() or None
    return None


def _number(value: Any, flags: Flags | None = None) -> float | None:
    kind = type(value)
    if kind is float or kind is int:  # the usual JSON number: no Decimal, no bool
        number = float(value)
        if math.isfinite(number):
            return number
    elif kind is bool or not isinstance(value, int | float | Decimal):
        return None
    else:
        # Decimal arrives when the reader kept exact number literals ("1.50").
        number = float(value)
        if math.isfinite(number):
            return number
    if flags is not None:  # "1e400": no float holds it; the raw resource keeps it as written
        flags.append(f"number out of range {_literal(value)} (kept as written)")
    return None


def _literal(value: Any) -> str:
    """How the source wrote a number (readers keep it on the Decimal), cut for display."""
    text = str(getattr(value, "literal", None) or value)
    return text if len(text) <= 40 else text[:39] + "…"


def _out_of_range(value: Any) -> bool:
    return isinstance(value, float | Decimal) and not math.isfinite(float(value))


def _reference_display(ref: Any) -> str | None:
    return _text(ref.get("display")) if isinstance(ref, dict) else None


def _reference(value: Any) -> str | None:
    """The `reference` of a Reference element."""
    return _text(value.get("reference")) if isinstance(value, dict) else None


def _quantity(q: Any, flags: Flags | None = None) -> Quantity | None:
    if not isinstance(q, dict):
        return None
    unit = _text(q.get("unit")) or _text(q.get("code"))
    comparator = _text(q.get("comparator"))
    raw = q.get("value")
    value = _number(raw, flags)
    text = f"{comparator}{raw}" if comparator and value is not None else None
    if value is None and _out_of_range(raw):
        text = f"{comparator or ''}{_literal(raw)}"  # shown as written, not as "inf"
    return Quantity(value, unit, text)


def _observation_value(res: Mapping[str, Any], flags: Flags) -> Quantity | None:
    if "valueQuantity" in res:
        return _quantity(res["valueQuantity"], flags)
    if "valueCodeableConcept" in res:
        return Quantity(None, None, display_of(res["valueCodeableConcept"]) or None)
    for key in ("valueString", "valueDateTime", "valueTime"):
        if key in res and _text(res[key]):
            return Quantity(None, None, _text(res[key]))
    if "valueInteger" in res:
        return Quantity(_number(res["valueInteger"], flags))
    if "valueBoolean" in res and isinstance(res["valueBoolean"], bool):
        return Quantity(None, None, "yes" if res["valueBoolean"] else "no")
    components = res.get("component")
    if isinstance(components, list) and components:
        parts, unit = [], None
        for comp in components:
            q = _quantity(comp.get("valueQuantity"), flags) if isinstance(comp, dict) else None
            if q and q.value is not None:
                parts.append(f"{q.value:g}")
                unit = unit or q.unit
        if parts:
            return Quantity(None, unit, "/".join(parts))
    return None


def _reference_range(value: Any, flags: Flags) -> ReferenceRange | None:
    rr = first_of(value)
    if not isinstance(rr, dict):
        return None
    low, high = rr.get("low"), rr.get("high")
    return ReferenceRange(
        low=_number(low.get("value"), flags) if isinstance(low, dict) else None,
        high=_number(high.get("value"), flags) if isinstance(high, dict) else None,
        text=_text(rr.get("text")),
    )


# The words of a category concept, by its content (see codes_and_display): every result of
# an import names one of a few categories.
_CATEGORY_WORDS: dict[Hashable, tuple[str, ...]] = {}
_CATEGORY_WORDS_KEPT = 5_000


def _category_words(cat: dict[str, Any]) -> tuple[str, ...]:
    """A category concept's lower-cased codes, then its text."""
    out: list[str] = []
    for coding in _list(cat.get("coding")):
        code = coding.get("code") if isinstance(coding, dict) else None
        if isinstance(code, str) and code:
            out.append(code.lower())
    text = display_of(cat)
    if text:
        out.append(text.lower())
    return tuple(out)


def _category_codes(res: Mapping[str, Any]) -> list[str]:
    """Lower-cased category codes and texts, for simple membership tests."""
    categories = res.get("category")
    if isinstance(categories, dict):  # some servers send one object, not a list
        categories = [categories]
    out: list[str] = []
    for cat in _list(categories):
        if not isinstance(cat, dict):
            continue
        try:
            key = concept_key(cat)
            words = _CATEGORY_WORDS.get(key) if key is not None else None
        except TypeError:  # a part that cannot be hashed: read, not remembered
            key = words = None
        if words is None:
            words = _category_words(cat)
            if key is not None:
                if len(_CATEGORY_WORDS) >= _CATEGORY_WORDS_KEPT:
                    _CATEGORY_WORDS.clear()
                _CATEGORY_WORDS[key] = words
        out += words
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
        codes, display = codes_and_display(value)
        for coding in codes:
            if coding.code:
                return coding.code
        return display or None
    return _text(value)


def _encounter_class(res: Mapping[str, Any]) -> tuple[str | None, str | None]:
    cls = res.get("class")
    if isinstance(cls, list):  # FHIR R5 shape seen in the wild
        cls = first_of(cls)
    codes, display = codes_and_display(cls)
    code = codes[0].code if codes else None
    return (code.upper() if code else None), display or None


def _sensitivity(resource: Mapping[str, Any], meta: Any) -> str:
    if meta is None or (type(meta) is dict and "security" not in meta):
        return _NORMAL  # nearly every resource: no need to look further
    return sensitivity_from_source(resource).value


def normalise(resource: Mapping[str, Any], tagger: Tagger | None = None) -> Record | None:
    """The record for a resource of a type we show; None for other types (kept raw only)."""
    rtype = resource.get("resourceType")
    if rtype not in NORMALISED_TYPES:
        return None
    flags: Flags = []
    rid = resource.get("id")
    rid = rid.strip() if isinstance(rid, str) else ""  # _text(…) or "", without the call
    if not rid:
        flags.append("no id")
    status = resource.get("status")
    if rtype in _STATUS_REQUIRED and not (isinstance(status, str) and status.strip()):
        flags.append("missing status")
    meta = resource.get("meta")
    meta_tags = meta.get("tag") if isinstance(meta, dict) else None
    if isinstance(meta_tags, list):
        for tag in meta_tags:
            if isinstance(tag, dict) and tag.get("system") == DATA_QUALITY_TAG_SYSTEM:
                flags.append(_text(tag.get("display")) or "data-quality problem in the source")
    fields = _BUILDERS[rtype](resource, flags)
    kind: RecordKind = fields["kind"]
    codes: tuple[Code, ...] = fields.setdefault("codes", ())
    title = fields["title"] = fields.get("title") or rtype
    value: Quantity | None = fields.get("value")
    text_parts = fields.pop("text_parts", None)
    notes = resource.get("note")
    if notes is not None:
        text_parts = [*(text_parts or ()), *_notes_text(resource)]
    fields["resource_type"] = rtype
    fields["resource_id"] = rid
    fields["tags"] = (
        tagger(kind, codes, title, value.text if value else None) if tagger else frozenset()
    )
    fields["source_system"] = _text(meta.get("source")) if isinstance(meta, dict) else None
    fields["text"] = "\n".join([p for p in text_parts if p]) if text_parts else ""
    fields["quality"] = tuple(dict.fromkeys(flags)) if flags else ()
    fields["sensitivity"] = _sensitivity(resource, meta)
    return record_from_fields(fields)


# --- one builder per resource type: return the Record fields they know ---------------------
# Each reads its resource in the order the flags should come out (a record's flags are shown in
# the order they were found): the value's numbers, then dates, then the reference range.


def _patient(res: Mapping[str, Any], flags: Flags) -> dict[str, Any]:
    name = first_of(res.get("name"))
    title = None
    if isinstance(name, dict):
        given = _list(name.get("given"))
        title = _text(name.get("text")) or " ".join(
            [str(g) for g in given] + ([str(name["family"])] if name.get("family") else [])
        )
    return {
        "kind": _PATIENT,
        "title": title or "Patient",
        "effective": _date(flags, res.get("birthDate")),
        "category": "demographics",
        "status": "active" if res.get("active") is not False else "inactive",
        "facility": _reference_display(res.get("managingOrganization")),
    }


def _condition(res: Mapping[str, Any], flags: Flags) -> dict[str, Any]:
    onset_period = res.get("onsetPeriod")
    code = res.get("code")
    if not code:
        flags.append("no code")
    codes, title = codes_and_display(code)
    return {
        "kind": _PROBLEM,
        "title": title,
        "codes": codes,
        "effective": _date(
            flags,
            res.get("onsetDateTime"),
            onset_period.get("start") if isinstance(onset_period, dict) else None,
            res.get("recordedDate"),
        ),
        "category": first_of(_category_codes(res)),
        "status": _status(res, "clinicalStatus"),
        "encounter_ref": _reference(res.get("encounter")),
        "facility": _reference_display(res.get("asserter")),
    }


def _observation(res: Mapping[str, Any], flags: Flags) -> dict[str, Any]:
    categories = _category_codes(res)
    if "vital-signs" in categories:
        kind = _VITAL
    elif "imaging" in categories:
        kind = _IMAGING
    elif not _NOTE_OBSERVATIONS.isdisjoint(categories):
        kind = _NOTE
    else:
        kind = _LAB
    code = res.get("code")
    if not code:
        flags.append("no code")
    interpretation = first_of(res.get("interpretation"))
    interp_codes, interp_text = codes_and_display(interpretation)
    value = _observation_value(res, flags)
    codes, title = codes_and_display(code)
    ranges = res.get("referenceRange")
    effective = _date(
        flags,
        res.get("effectiveDateTime"),
        _get(res.get("effectivePeriod"), "start"),
        res.get("effectiveInstant"),
        res.get("issued"),
    )
    return {
        "kind": kind,
        "title": title,
        "codes": codes,
        "category": categories[0] if categories else None,
        "effective": effective,
        "value": value,
        "reference_range": _reference_range(ranges, flags) if ranges is not None else None,
        "interpretation": (interp_codes[0].code if interp_codes and interp_codes[0].code else None)
        or (interp_text or None),
        "status": _text(res.get("status")),
        "encounter_ref": _reference(res.get("encounter")),
        "facility": _reference_display(first_of(res.get("performer"))),
        "text_parts": [value.text] if value and value.text and kind is _NOTE else None,
    }


def _medication_title(res: Mapping[str, Any]) -> tuple[str, tuple[Code, ...]]:
    concept = res.get("medicationCodeableConcept")
    if concept:
        codes, title = codes_and_display(concept)
        return title, codes
    return _reference_display(res.get("medicationReference")) or "Medication", ()


def _medication(res: Mapping[str, Any], flags: Flags, category: str, *dates: Any) -> dict[str, Any]:
    title, codes = _medication_title(res)
    dosage = (
        first_of(res.get("dosageInstruction")) or first_of(res.get("dosage")) or res.get("dosage")
    )
    dose_text = _text(dosage.get("text")) if isinstance(dosage, dict) else None
    dose = None
    if isinstance(dosage, dict):
        # MedicationAdministration says dosage.dose; Request/Statement say doseAndRate[].
        rate = first_of(dosage.get("doseAndRate"))
        dose = _quantity(dosage.get("dose"), flags) or (
            _quantity(rate.get("doseQuantity"), flags) if isinstance(rate, dict) else None
        )
    return {
        "kind": _MEDICATION,
        "title": title,
        "codes": codes,
        "category": category,
        "effective": _date(flags, *dates),
        "value": dose
        if dose and (dose.value is not None or dose.text)
        else (Quantity(None, None, dose_text) if dose_text else None),
        "status": _text(res.get("status")),
        "encounter_ref": _reference(res.get("encounter")) or _reference(res.get("context")),
        "facility": _reference_display(res.get("requester"))
        or _reference_display(first_of(res.get("performer"))),
    }


def _medication_request(res: Mapping[str, Any], flags: Flags) -> dict[str, Any]:
    bounds = res.get("dosageInstruction")
    start = None
    first = first_of(bounds)
    if isinstance(first, dict):
        start = _get(first, "timing", "repeat", "boundsPeriod", "start")
    return _medication(res, flags, "request", res.get("authoredOn"), start)


def _medication_statement(res: Mapping[str, Any], flags: Flags) -> dict[str, Any]:
    return _medication(
        res,
        flags,
        "statement",
        res.get("effectiveDateTime"),
        _get(res.get("effectivePeriod"), "start"),
        res.get("dateAsserted"),
    )


def _medication_administration(res: Mapping[str, Any], flags: Flags) -> dict[str, Any]:
    return _medication(
        res,
        flags,
        "administration",
        res.get("effectiveDateTime"),
        _get(res.get("effectivePeriod"), "start"),
    )


def _procedure(res: Mapping[str, Any], flags: Flags) -> dict[str, Any]:
    cat_codes, cat_display = codes_and_display(res.get("category"))
    cat_text = (cat_display or "").lower()
    is_surgery = any(c.system == SNOMED and c.code == _SURGICAL_PROCEDURE for c in cat_codes)
    codes, title = codes_and_display(res.get("code"))
    return {
        "kind": RecordKind.PROCEDURE,
        "title": title,
        "codes": codes,
        "category": "surgery" if is_surgery or "surg" in cat_text else (cat_text or None),
        "effective": _date(
            flags, res.get("performedDateTime"), _get(res.get("performedPeriod"), "start")
        ),
        "status": _text(res.get("status")),
        "encounter_ref": _reference(res.get("encounter")),
        "facility": _reference_display(res.get("location")),
    }


def _diagnostic_report(res: Mapping[str, Any], flags: Flags) -> dict[str, Any]:
    categories = _category_codes(res)
    if not _IMAGING_REPORTS.isdisjoint(categories):
        kind = _IMAGING
    elif not _LAB_REPORTS.isdisjoint(categories) or not categories:
        kind = _LAB
    else:
        kind = _NOTE
    forms = res.get("presentedForm")
    conclusion = _text(res.get("conclusion"))
    text_parts = [conclusion or ""]
    text_parts += [_attachment_text(a) for a in forms] if isinstance(forms, list) else []
    codes, title = codes_and_display(res.get("code"))
    return {
        "kind": kind,
        "title": title,
        "codes": codes,
        "category": categories[0] if categories else None,
        "effective": _date(
            flags,
            res.get("effectiveDateTime"),
            _get(res.get("effectivePeriod"), "start"),
            res.get("issued"),
        ),
        "status": _text(res.get("status")),
        "encounter_ref": _reference(res.get("encounter")),
        "facility": _reference_display(first_of(res.get("performer"))),
        "value": Quantity(None, None, conclusion) if res.get("conclusion") else None,
        "text_parts": text_parts,
    }


def _document_reference(res: Mapping[str, Any], flags: Flags) -> dict[str, Any]:
    type_codes, type_display = codes_and_display(res.get("type"))
    categories = _category_codes(res)
    contents = _list(res.get("content"))
    attachments = [c.get("attachment") for c in contents if isinstance(c, dict)]
    is_note = "clinical-note" in categories or any(c.code in _NOTE_TYPE_LOINC for c in type_codes)
    title = type_display or _text(res.get("description"))
    if not title:
        first = first_of(attachments)
        title = _text(first.get("title")) if isinstance(first, dict) else None
    encounter = first_of(_get(res.get("context"), "encounter"))
    return {
        "kind": _NOTE if is_note else _DOCUMENT,
        "title": title or "Document",
        "codes": type_codes,
        "category": categories[0] if categories else None,
        "effective": _date(flags, res.get("date"), _get(res.get("context"), "period", "start")),
        "status": _text(res.get("status")),
        "facility": _reference_display(res.get("custodian")),
        "encounter_ref": _text(encounter.get("reference"))
        if isinstance(encounter, Mapping)
        else None,
        "text_parts": [
            _text(res.get("description")) or "",
            *(_attachment_text(a) for a in attachments),
        ],
    }


def _allergy(res: Mapping[str, Any], flags: Flags) -> dict[str, Any]:
    reactions = _list(res.get("reaction"))
    manifestations = [
        display_of(m)
        for reaction in reactions
        if isinstance(reaction, dict)
        for m in _list(reaction.get("manifestation"))
    ]
    codes, title = codes_and_display(res.get("code"))
    category = first_of(res.get("category"))
    return {
        "kind": RecordKind.ALLERGY,
        "title": title,
        "codes": codes,
        "category": category if isinstance(category, str) else None,
        "effective": _date(flags, res.get("onsetDateTime"), res.get("recordedDate")),
        "status": _status(res, "clinicalStatus"),
        "interpretation": _text(res.get("criticality")),
        "value": Quantity(None, None, ", ".join(m for m in manifestations if m))
        if manifestations
        else None,
        "encounter_ref": _reference(res.get("encounter")),
    }


def _immunization(res: Mapping[str, Any], flags: Flags) -> dict[str, Any]:
    codes, title = codes_and_display(res.get("vaccineCode"))
    return {
        "kind": RecordKind.IMMUNIZATION,
        "title": title,
        "codes": codes,
        "effective": _date(flags, res.get("occurrenceDateTime"), res.get("recorded")),
        "status": _text(res.get("status")),
        "facility": _reference_display(res.get("location")),
        "encounter_ref": _reference(res.get("encounter")),
    }


def _encounter(res: Mapping[str, Any], flags: Flags) -> dict[str, Any]:
    class_code, class_text = _encounter_class(res)
    codes, type_text = codes_and_display(first_of(res.get("type")))
    location = first_of(res.get("location"))
    return {
        "kind": RecordKind.ENCOUNTER,
        "title": type_text or class_text or "Encounter",
        "codes": codes,
        "category": class_code,
        "effective": _date(flags, _get(res.get("period"), "start")),
        "status": _text(res.get("status")),
        "facility": _reference_display(res.get("serviceProvider"))
        or (_reference_display(location.get("location")) if isinstance(location, dict) else None),
        "text_parts": [display_of(c) for c in _list(res.get("reasonCode")) if isinstance(c, dict)],
    }


def _imaging_study(res: Mapping[str, Any], flags: Flags) -> dict[str, Any]:
    """A study's description only: series and images are counted, never fetched."""
    summary = imaging_summary(res)
    procedure = [c for concept in _list(res.get("procedureCode")) for c in codes_of(concept)]
    modalities = tuple(Code(DICOM_SYSTEM, code, None) for code in summary.modality_codes)
    return {
        "kind": _IMAGING,
        "title": imaging_title(res, summary),
        "codes": (*procedure, *modalities),
        "category": first_of(list(summary.modality_codes)),
        "effective": _date(flags, res.get("started")),
        "status": _text(res.get("status")),
        "encounter_ref": _reference(res.get("encounter")),
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


_BUILDERS: dict[str, Callable[[Mapping[str, Any], Flags], dict[str, Any]]] = {
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
