"""FHIR R4 → records: one mapping per resource type, and leniency on odd input."""

from __future__ import annotations

import base64
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from phr_desktop.domain.normalise import NORMALISED_TYPES, normalise
from phr_desktop.domain.records import DatePrecision, RecordKind, parse_partial_date

LOINC = "http://loinc.org"


def _cc(code: str, display: str, system: str = LOINC) -> dict[str, Any]:
    return {"coding": [{"system": system, "code": code, "display": display}]}


def test_a_spirometry_observation_keeps_value_unit_range_and_flag() -> None:
    record = normalise(
        {
            "resourceType": "Observation",
            "id": "f1",
            "status": "final",
            "category": [
                _cc(
                    "procedure",
                    "Procedure",
                    "http://terminology.hl7.org/CodeSystem/observation-category",
                )
            ],
            "code": _cc("20150-9", "FEV1"),
            "effectiveDateTime": "2017-05-11T09:30:00-05:00",
            "valueQuantity": {"value": 1.5, "unit": "L"},
            "referenceRange": [{"low": {"value": 2.1}, "high": {"value": 3.4}}],
            "interpretation": [
                _cc(
                    "L", "Low", "http://terminology.hl7.org/CodeSystem/v3-ObservationInterpretation"
                )
            ],
            "meta": {"source": "Riverside Pulmonary (Epic)"},
        }
    )
    assert record is not None
    assert record.kind is RecordKind.LAB_RESULT and record.title == "FEV1"
    assert record.value and (record.value.value, record.value.unit) == (1.5, "L")
    assert record.reference_range and record.reference_range.low == 2.1
    assert record.interpretation == "L" and record.quality == ()
    assert record.effective and record.effective.precision is DatePrecision.INSTANT
    assert record.source_system == "Riverside Pulmonary (Epic)"


def test_vital_signs_and_a_blood_pressure_panel() -> None:
    record = normalise(
        {
            "resourceType": "Observation",
            "id": "bp",
            "status": "final",
            "category": [{"coding": [{"code": "vital-signs"}]}],
            "code": _cc("85354-9", "Blood pressure"),
            "effectiveDateTime": "2020-02-02",
            "component": [
                {
                    "code": _cc("8480-6", "Systolic"),
                    "valueQuantity": {"value": 128, "unit": "mm[Hg]"},
                },
                {
                    "code": _cc("8462-4", "Diastolic"),
                    "valueQuantity": {"value": 82, "unit": "mm[Hg]"},
                },
            ],
        }
    )
    assert record and record.kind is RecordKind.VITAL_SIGN
    assert record.value and record.value.text == "128/82" and record.value.unit == "mm[Hg]"


def test_a_genotype_result_keeps_its_text_value() -> None:
    record = normalise(
        {
            "resourceType": "Observation",
            "id": "g",
            "status": "final",
            "code": _cc("32769-2", "Alpha 1 antitrypsin phenotype"),
            "valueString": "Pi*ZZ",
        }
    )
    assert record and record.value and record.value.text == "Pi*ZZ"


def test_condition_with_clinical_status_and_a_bad_date_is_flagged_not_lost() -> None:
    record = normalise(
        {
            "resourceType": "Condition",
            "id": "c",
            "clinicalStatus": _cc(
                "active", "Active", "http://terminology.hl7.org/CodeSystem/condition-clinical"
            ),
            "code": _cc(
                "E88.01", "Alpha-1-antitrypsin deficiency", "http://hl7.org/fhir/sid/icd-10-cm"
            ),
            "onsetDateTime": "2019-13-45",
            "recordedDate": "2020-11-12",
        }
    )
    assert record and record.kind is RecordKind.PROBLEM and record.status == "active"
    assert record.effective and record.effective.text == "2020-11-12"
    assert record.quality == ("unreadable date '2019-13-45'",)


def test_medications_of_every_shape() -> None:
    request = normalise(
        {
            "resourceType": "MedicationRequest",
            "id": "m",
            "status": "active",
            "intent": "order",
            "medicationCodeableConcept": {"text": "Zemaira 60 mg/kg IV weekly"},
            "authoredOn": "2020-01-02",
        }
    )
    statement = normalise(
        {
            "resourceType": "MedicationStatement",
            "id": "s",
            "status": "active",
            "medicationReference": {"display": "Tiotropium"},
            "effectivePeriod": {"start": "2014"},
        }
    )
    given_ = normalise(
        {
            "resourceType": "MedicationAdministration",
            "id": "a",
            "status": "completed",
            "medicationCodeableConcept": {"text": "Prolastin-C"},
            "effectiveDateTime": "2016-03-03",
            "dosage": {"dose": {"value": 60, "unit": "mg/kg"}},
        }
    )
    assert request and request.kind is RecordKind.MEDICATION and request.category == "request"
    assert statement and statement.title == "Tiotropium"
    assert statement.effective and statement.effective.precision is DatePrecision.YEAR
    assert given_ and given_.value and given_.value.value == 60


def test_encounter_class_is_the_category() -> None:
    record = normalise(
        {
            "resourceType": "Encounter",
            "id": "e",
            "status": "finished",
            "class": {"system": "http://terminology.hl7.org/CodeSystem/v3-ActCode", "code": "imp"},
            "period": {"start": "2016-08-03"},
            "serviceProvider": {"display": "Riverside Medical Center"},
        }
    )
    assert record and record.category == "IMP" and record.facility == "Riverside Medical Center"


def test_surgery_is_recognised_from_the_procedure_category() -> None:
    record = normalise(
        {
            "resourceType": "Procedure",
            "id": "p",
            "status": "completed",
            "category": _cc("387713003", "Surgical procedure", "http://snomed.info/sct"),
            "code": {"text": "Laparoscopic cholecystectomy"},
            "performedDateTime": "2018-04-10",
        }
    )
    assert record and record.category == "surgery"


def test_document_text_is_decoded_for_search() -> None:
    note = "Patient reports fewer exacerbations since starting augmentation."
    record = normalise(
        {
            "resourceType": "DocumentReference",
            "id": "d",
            "status": "current",
            "type": _cc("11506-3", "Progress note"),
            "date": "2019-12-05T10:00:00Z",
            "content": [
                {
                    "attachment": {
                        "contentType": "text/plain",
                        "data": base64.b64encode(note.encode()).decode(),
                    }
                }
            ],
        }
    )
    assert record and record.kind is RecordKind.CLINICAL_NOTE and note in record.text


def test_a_radiology_report_is_imaging_with_its_conclusion_searchable() -> None:
    record = normalise(
        {
            "resourceType": "DiagnosticReport",
            "id": "r",
            "status": "final",
            "category": [_cc("RAD", "Radiology", "http://terminology.hl7.org/CodeSystem/v2-0074")],
            "code": _cc("24627-2", "Chest CT"),
            "effectiveDateTime": "2014-01-16",
            "conclusion": "Basilar panlobular emphysema.",
        }
    )
    assert record and record.kind is RecordKind.IMAGING and "panlobular" in record.text


def test_allergy_immunization_and_patient() -> None:
    allergy = normalise(
        {
            "resourceType": "AllergyIntolerance",
            "id": "al",
            "code": {"text": "Penicillin"},
            "criticality": "high",
            "reaction": [{"manifestation": [{"text": "Hives"}]}],
        }
    )
    shot = normalise(
        {
            "resourceType": "Immunization",
            "id": "i",
            "status": "completed",
            "vaccineCode": _cc("158", "Influenza", "http://hl7.org/fhir/sid/cvx"),
            "occurrenceDateTime": "2021-10-01",
        }
    )
    person = normalise(
        {
            "resourceType": "Patient",
            "id": "pt",
            "birthDate": "1968-04-12",
            "name": [{"given": ["Margaret", "Ellen"], "family": "Doyle"}],
        }
    )
    assert allergy and allergy.value and allergy.value.text == "Hives"
    assert shot and shot.kind is RecordKind.IMMUNIZATION
    assert person and person.title == "Margaret Ellen Doyle"


def test_other_resource_types_are_not_records() -> None:
    assert normalise({"resourceType": "Claim", "id": "x"}) is None


def test_a_missing_required_status_is_a_quality_flag() -> None:
    record = normalise({"resourceType": "Observation", "id": "x", "code": {"text": "ALT"}})
    assert record and "missing status" in record.quality


def test_dates_keep_their_precision() -> None:
    cases = {
        "2015": DatePrecision.YEAR,
        "2015-03": DatePrecision.MONTH,
        "2015-03-04": DatePrecision.DAY,
        "2015-03-04T10:00:00Z": DatePrecision.INSTANT,
    }
    for text, precision in cases.items():
        parsed = parse_partial_date(text)
        assert parsed and parsed.precision is precision and parsed.text == text
    for bad in ("2015-13", "15-03-04", "2015-03-04T", "yesterday", ""):
        assert parse_partial_date(bad) is None


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=True) | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=12), children, max_size=5)
    ),
    max_leaves=25,
)
fhir_keys = st.sampled_from(
    [
        "id",
        "status",
        "code",
        "category",
        "valueQuantity",
        "valueString",
        "effectiveDateTime",
        "effectivePeriod",
        "component",
        "referenceRange",
        "interpretation",
        "note",
        "meta",
        "medicationCodeableConcept",
        "dosage",
        "dosageInstruction",
        "class",
        "period",
        "content",
        "presentedForm",
        "reaction",
        "clinicalStatus",
        "onsetDateTime",
        "vaccineCode",
        "name",
        "type",
        "performer",
        "encounter",
        "context",
        "birthDate",
        "authoredOn",
        "location",
    ]
)


@settings(max_examples=400, deadline=None)
@given(
    resource_type=st.sampled_from(sorted(NORMALISED_TYPES)),
    fields=st.dictionaries(fhir_keys, json_values, max_size=10),
)
def test_any_shape_of_resource_normalises_without_raising(
    resource_type: str, fields: dict[str, Any]
) -> None:
    record = normalise({"resourceType": resource_type, **fields})
    assert record is not None and record.resource_type == resource_type
    assert isinstance(record.title, str) and record.title


def test_a_statement_dose_in_dose_and_rate_is_read() -> None:
    record = normalise(
        {
            "resourceType": "MedicationStatement",
            "id": "s",
            "status": "active",
            "medicationCodeableConcept": {"text": "Zemaira"},
            "effectiveDateTime": "2020-01-02",
            "dosage": [{"doseAndRate": [{"doseQuantity": {"value": 60, "unit": "mg/kg"}}]}],
        }
    )
    assert record and record.value and (record.value.value, record.value.unit) == (60, "mg/kg")


def test_a_number_where_a_list_or_an_object_belongs_is_read_as_absent_not_a_crash() -> None:
    """Each of these once raised (TypeError, AttributeError) and stopped the whole file."""
    visit = normalise(
        {"resourceType": "Encounter", "id": "e", "status": "finished", "reasonCode": 5}
    )
    assert visit is not None and visit.text == ""
    order = normalise(
        {
            "resourceType": "MedicationRequest",
            "id": "m",
            "status": "active",
            "authoredOn": "2020-01-02",
            "dosageInstruction": [{"timing": 5, "text": "1 daily"}],
        }
    )
    assert order is not None and order.effective and order.effective.text == "2020-01-02"
    assert order.value and order.value.text == "1 daily"
