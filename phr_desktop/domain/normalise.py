"""FHIR R4 resource (as parsed JSON) → `Record`. Lenient by design.

Real EHR data is often non-conformant, so nothing here raises on odd input: what cannot be read
becomes a data-quality flag on the record, and the raw resource is kept regardless.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from phr_desktop.domain.codes import (
    SNOMED,
    codes_and_display,
    codes_of,
    concept_key,
    display_of,
    first_of,
)
from phr_desktop.domain.fhir_values import (
    Flags,
    as_list,
    attachment_text,
    category_codes,
    category_words,
    clean_text,
    encounter_class,
    notes_text,
    observation_value,
    path_get,
    quantity_of,
    read_date,
    reference_display,
    reference_of,
    reference_range,
    sensitivity_of,
    status_of,
)
from phr_desktop.domain.imaging import DICOM_SYSTEM, imaging_summary, imaging_title
from phr_desktop.domain.records import (
    DATA_QUALITY_TAG_SYSTEM,
    Code,
    Quantity,
    Record,
    RecordKind,
    record_from_fields,
)

Tagger = Callable[[RecordKind, tuple[Code, ...], str, str | None], frozenset[str]]

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


# Hot names as module constants: an import normalises a hundred thousand resources, and an
# enum member read from its class costs an attribute lookup each time.
_PATIENT, _PROBLEM, _MEDICATION = RecordKind.PATIENT, RecordKind.PROBLEM, RecordKind.MEDICATION
_LAB, _VITAL, _IMAGING = RecordKind.LAB_RESULT, RecordKind.VITAL_SIGN, RecordKind.IMAGING
_NOTE, _DOCUMENT = RecordKind.CLINICAL_NOTE, RecordKind.DOCUMENT
_NOTE_OBSERVATIONS = frozenset({"social-history", "survey", "activity", "therapy"})
_IMAGING_REPORTS = frozenset({"rad", "lp29684-5", "imaging", "radiology"})
_LAB_REPORTS = frozenset({"lab", "laboratory", "hm", "ch"})


def normalise(resource: Mapping[str, Any], tagger: Tagger | None = None) -> Record | None:
    """The record for a resource of a type we show; None for other types (kept raw only)."""
    rtype = resource.get("resourceType")
    if not isinstance(rtype, str) or (build := _BUILDERS.get(rtype)) is None:
        return None
    flags: Flags = []
    rid = resource.get("id")
    rid = rid.strip() if isinstance(rid, str) else ""  # clean_text(…) or "", without the call
    if not rid:
        flags.append("no id")
    if rtype in _STATUS_REQUIRED:
        status = resource.get("status")
        if not (isinstance(status, str) and status.strip()):
            flags.append("missing status")
    meta = resource.get("meta")
    source_system = None
    if isinstance(meta, dict):
        meta_tags = meta.get("tag")
        if isinstance(meta_tags, list):
            for tag in meta_tags:
                if isinstance(tag, dict) and tag.get("system") == DATA_QUALITY_TAG_SYSTEM:
                    flags.append(
                        clean_text(tag.get("display")) or "data-quality problem in the source"
                    )
        source = meta.get("source")
        source_system = (source.strip() or None) if isinstance(source, str) else None
    fields = build(resource, flags)
    kind: RecordKind = fields["kind"]
    codes: tuple[Code, ...] = fields.setdefault("codes", ())
    title = fields["title"] = fields.get("title") or rtype
    value: Quantity | None = fields.get("value")
    text_parts = fields.pop("text_parts", None)
    if resource.get("note") is not None:
        text_parts = [*(text_parts or ()), *notes_text(resource)]
    fields["resource_type"] = rtype
    fields["resource_id"] = rid
    fields["tags"] = (
        tagger(kind, codes, title, value.text if value else None) if tagger else _NO_TAGS
    )
    fields["source_system"] = source_system
    fields["text"] = "\n".join([p for p in text_parts if p]) if text_parts else ""
    fields["quality"] = tuple(dict.fromkeys(flags)) if flags else ()
    fields["sensitivity"] = sensitivity_of(resource, meta)
    return record_from_fields(fields)


_NO_TAGS: frozenset[str] = frozenset()


# --- one builder per resource type: return the Record fields they know ---------------------
# Each reads its resource in the order the flags should come out (a record's flags are shown in
# the order they were found): the value's numbers, then dates, then the reference range.


def _patient(res: Mapping[str, Any], flags: Flags) -> dict[str, Any]:
    name = first_of(res.get("name"))
    title = None
    if isinstance(name, dict):
        given = as_list(name.get("given"))
        title = clean_text(name.get("text")) or " ".join(
            [str(g) for g in given] + ([str(name["family"])] if name.get("family") else [])
        )
    return {
        "kind": _PATIENT,
        "title": title or "Patient",
        "effective": read_date(flags, res.get("birthDate")),
        "category": "demographics",
        "status": "active" if res.get("active") is not False else "inactive",
        "facility": reference_display(res.get("managingOrganization")),
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
        "effective": read_date(
            flags,
            res.get("onsetDateTime"),
            onset_period.get("start") if isinstance(onset_period, dict) else None,
            res.get("recordedDate"),
        ),
        "category": categories[0] if (categories := category_codes(res)) else None,
        "status": status_of(res, "clinicalStatus"),
        "encounter_ref": reference_of(res.get("encounter")),
        "facility": reference_display(res.get("asserter")),
    }


# What a result's concepts say (its kind, category, codes, title, interpretation), by their
# JSON text together: an import's hundred thousand results name a few thousand combinations,
# so one C call and one lookup stand for reading three concepts. (Only what is read of text,
# objects and lists is kept here: orjson writes a NaN as null, so two keys may differ in a
# value that is neither, which these readings take for absent.)
ObservationConcepts = tuple[RecordKind, str | None, tuple[Code, ...], str, str | None]
_OBSERVATION_CONCEPTS: dict[bytes, ObservationConcepts] = {}
_OBSERVATION_CONCEPTS_KEPT = 20_000


def _read_observation_concepts(
    category: Any, code: Any, interpretation: Any
) -> ObservationConcepts:
    categories = category_words(category)
    if "vital-signs" in categories:
        kind = _VITAL
    elif "imaging" in categories:
        kind = _IMAGING
    elif not _NOTE_OBSERVATIONS.isdisjoint(categories):
        kind = _NOTE
    else:
        kind = _LAB
    interp_codes, interp_text = codes_and_display(first_of(interpretation))
    codes, title = codes_and_display(code)
    return (
        kind,
        categories[0] if categories else None,
        codes,
        title,
        (interp_codes[0].code if interp_codes and interp_codes[0].code else None)
        or (interp_text or None),
    )


def _observation_concepts(res: Mapping[str, Any]) -> ObservationConcepts:
    parts = (res.get("category"), res.get("code"), res.get("interpretation"))
    key = concept_key(parts)
    found = _OBSERVATION_CONCEPTS.get(key) if key is not None else None
    if found is None:
        found = _read_observation_concepts(*parts)
        if key is not None:
            if len(_OBSERVATION_CONCEPTS) >= _OBSERVATION_CONCEPTS_KEPT:
                _OBSERVATION_CONCEPTS.clear()
            _OBSERVATION_CONCEPTS[key] = found
    return found


def _observation(res: Mapping[str, Any], flags: Flags) -> dict[str, Any]:
    kind, category, codes, title, interpretation = _observation_concepts(res)
    if not res.get("code"):
        flags.append("no code")
    value = observation_value(res, flags)
    ranges = res.get("referenceRange")
    period = res.get("effectivePeriod")
    effective = read_date(
        flags,
        res.get("effectiveDateTime"),
        period.get("start") if isinstance(period, dict) else None,  # path_get, inlined
        res.get("effectiveInstant"),
        res.get("issued"),
    )
    return {
        "kind": kind,
        "title": title,
        "codes": codes,
        "category": category,
        "effective": effective,
        "value": value,
        "reference_range": reference_range(ranges, flags) if ranges is not None else None,
        "interpretation": interpretation,
        "status": clean_text(res.get("status")),
        "encounter_ref": reference_of(res.get("encounter")),
        "facility": reference_display(first_of(res.get("performer"))),
        "text_parts": [value.text] if value and value.text and kind is _NOTE else None,
    }


def _medication_title(res: Mapping[str, Any]) -> tuple[str, tuple[Code, ...]]:
    concept = res.get("medicationCodeableConcept")
    if concept:
        codes, title = codes_and_display(concept)
        return title, codes
    return reference_display(res.get("medicationReference")) or "Medication", ()


def _medication(res: Mapping[str, Any], flags: Flags, category: str, *dates: Any) -> dict[str, Any]:
    title, codes = _medication_title(res)
    dosage = (
        first_of(res.get("dosageInstruction")) or first_of(res.get("dosage")) or res.get("dosage")
    )
    dose_text = clean_text(dosage.get("text")) if isinstance(dosage, dict) else None
    dose = None
    if isinstance(dosage, dict):
        # MedicationAdministration says dosage.dose; Request/Statement say doseAndRate[].
        rate = first_of(dosage.get("doseAndRate"))
        dose = quantity_of(dosage.get("dose"), flags) or (
            quantity_of(rate.get("doseQuantity"), flags) if isinstance(rate, dict) else None
        )
    return {
        "kind": _MEDICATION,
        "title": title,
        "codes": codes,
        "category": category,
        "effective": read_date(flags, *dates),
        "value": dose
        if dose and (dose.value is not None or dose.text)
        else (Quantity(None, None, dose_text) if dose_text else None),
        "status": clean_text(res.get("status")),
        "encounter_ref": reference_of(res.get("encounter")) or reference_of(res.get("context")),
        "facility": reference_display(res.get("requester"))
        or reference_display(first_of(res.get("performer"))),
    }


def _medication_request(res: Mapping[str, Any], flags: Flags) -> dict[str, Any]:
    bounds = res.get("dosageInstruction")
    start = None
    first = first_of(bounds)
    if isinstance(first, dict):
        start = path_get(first, "timing", "repeat", "boundsPeriod", "start")
    return _medication(res, flags, "request", res.get("authoredOn"), start)


def _medication_statement(res: Mapping[str, Any], flags: Flags) -> dict[str, Any]:
    return _medication(
        res,
        flags,
        "statement",
        res.get("effectiveDateTime"),
        path_get(res.get("effectivePeriod"), "start"),
        res.get("dateAsserted"),
    )


def _medication_administration(res: Mapping[str, Any], flags: Flags) -> dict[str, Any]:
    return _medication(
        res,
        flags,
        "administration",
        res.get("effectiveDateTime"),
        path_get(res.get("effectivePeriod"), "start"),
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
        "effective": read_date(
            flags, res.get("performedDateTime"), path_get(res.get("performedPeriod"), "start")
        ),
        "status": clean_text(res.get("status")),
        "encounter_ref": reference_of(res.get("encounter")),
        "facility": reference_display(res.get("location")),
    }


def _diagnostic_report(res: Mapping[str, Any], flags: Flags) -> dict[str, Any]:
    categories = category_codes(res)
    if not _IMAGING_REPORTS.isdisjoint(categories):
        kind = _IMAGING
    elif not _LAB_REPORTS.isdisjoint(categories) or not categories:
        kind = _LAB
    else:
        kind = _NOTE
    forms = res.get("presentedForm")
    conclusion = clean_text(res.get("conclusion"))
    text_parts = [conclusion or ""]
    text_parts += [attachment_text(a) for a in forms] if isinstance(forms, list) else []
    codes, title = codes_and_display(res.get("code"))
    return {
        "kind": kind,
        "title": title,
        "codes": codes,
        "category": categories[0] if categories else None,
        "effective": read_date(
            flags,
            res.get("effectiveDateTime"),
            path_get(res.get("effectivePeriod"), "start"),
            res.get("issued"),
        ),
        "status": clean_text(res.get("status")),
        "encounter_ref": reference_of(res.get("encounter")),
        "facility": reference_display(first_of(res.get("performer"))),
        "value": Quantity(None, None, conclusion) if res.get("conclusion") else None,
        "text_parts": text_parts,
    }


def _document_reference(res: Mapping[str, Any], flags: Flags) -> dict[str, Any]:
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


def _allergy(res: Mapping[str, Any], flags: Flags) -> dict[str, Any]:
    reactions = as_list(res.get("reaction"))
    manifestations = [
        display_of(m)
        for reaction in reactions
        if isinstance(reaction, dict)
        for m in as_list(reaction.get("manifestation"))
    ]
    codes, title = codes_and_display(res.get("code"))
    category = first_of(res.get("category"))
    return {
        "kind": RecordKind.ALLERGY,
        "title": title,
        "codes": codes,
        "category": category if isinstance(category, str) else None,
        "effective": read_date(flags, res.get("onsetDateTime"), res.get("recordedDate")),
        "status": status_of(res, "clinicalStatus"),
        "interpretation": clean_text(res.get("criticality")),
        "value": Quantity(None, None, ", ".join(m for m in manifestations if m))
        if manifestations
        else None,
        "encounter_ref": reference_of(res.get("encounter")),
    }


def _immunization(res: Mapping[str, Any], flags: Flags) -> dict[str, Any]:
    codes, title = codes_and_display(res.get("vaccineCode"))
    return {
        "kind": RecordKind.IMMUNIZATION,
        "title": title,
        "codes": codes,
        "effective": read_date(flags, res.get("occurrenceDateTime"), res.get("recorded")),
        "status": clean_text(res.get("status")),
        "facility": reference_display(res.get("location")),
        "encounter_ref": reference_of(res.get("encounter")),
    }


def _encounter(res: Mapping[str, Any], flags: Flags) -> dict[str, Any]:
    class_code, class_text = encounter_class(res)
    codes, type_text = codes_and_display(first_of(res.get("type")))
    location = first_of(res.get("location"))
    return {
        "kind": RecordKind.ENCOUNTER,
        "title": type_text or class_text or "Encounter",
        "codes": codes,
        "category": class_code,
        "effective": read_date(flags, path_get(res.get("period"), "start")),
        "status": clean_text(res.get("status")),
        "facility": reference_display(res.get("serviceProvider"))
        or (reference_display(location.get("location")) if isinstance(location, dict) else None),
        "text_parts": [
            display_of(c) for c in as_list(res.get("reasonCode")) if isinstance(c, dict)
        ],
    }


def _imaging_study(res: Mapping[str, Any], flags: Flags) -> dict[str, Any]:
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
