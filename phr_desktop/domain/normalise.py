"""FHIR R4 resource (as parsed JSON) → `Record`. Lenient by design.

Real EHR data is often non-conformant, so nothing here raises on odd input: what cannot be read
becomes a data-quality flag on the record, and the raw resource is kept regardless.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from phr_desktop.domain.fhir_values import Flags, clean_text, notes_text, sensitivity_of
from phr_desktop.domain.normalise_clinical import (
    allergy_fields,
    condition_fields,
    encounter_fields,
    immunization_fields,
    patient_fields,
    procedure_fields,
)
from phr_desktop.domain.normalise_documents import document_reference_fields, imaging_study_fields
from phr_desktop.domain.normalise_medications import (
    medication_administration_fields,
    medication_request_fields,
    medication_statement_fields,
)
from phr_desktop.domain.normalise_results import diagnostic_report_fields, observation_fields
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


# One builder per resource type (normalise_clinical, _results, _medications, _documents): each
# returns the Record fields it knows.
_BUILDERS: dict[str, Callable[[Mapping[str, Any], Flags], dict[str, Any]]] = {
    "Patient": patient_fields,
    "Condition": condition_fields,
    "Observation": observation_fields,
    "MedicationRequest": medication_request_fields,
    "MedicationStatement": medication_statement_fields,
    "MedicationAdministration": medication_administration_fields,
    "Procedure": procedure_fields,
    "DiagnosticReport": diagnostic_report_fields,
    "DocumentReference": document_reference_fields,
    "AllergyIntolerance": allergy_fields,
    "Immunization": immunization_fields,
    "Encounter": encounter_fields,
    "ImagingStudy": imaging_study_fields,
}
