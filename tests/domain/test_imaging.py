"""An ImagingStudy becomes an imaging record: modality, body site, date, series and images,
and the report that reads it; the people a record names are shown by name."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import orjson

from phr_desktop.domain.imaging import imaging_summary, report_reads_study
from phr_desktop.domain.normalise import normalise
from phr_desktop.domain.participants import (
    INTERPRETED_BY,
    ORDERED_BY,
    PERFORMED_BY,
    RECORDED_BY,
    Participant,
    participants,
)
from phr_desktop.domain.records import DatePrecision, RecordKind

BUNDLE = Path(__file__).parents[1] / "data" / "imaging" / "chest-ct-bundle.json"


def _resources() -> dict[str, dict[str, Any]]:
    bundle = orjson.loads(BUNDLE.read_bytes())
    return {e["resource"]["resourceType"]: e["resource"] for e in bundle["entry"]}


def test_a_chest_ct_study_is_an_imaging_record_with_its_modality_date_and_size() -> None:
    study = _resources()["ImagingStudy"]
    record = normalise(study)
    assert record is not None
    assert record.kind is RecordKind.IMAGING
    assert record.title == "CT scan of the thorax"
    assert record.category == "CT"
    assert record.effective is not None and record.effective.precision is DatePrecision.INSTANT
    assert record.effective.text == "2024-03-11T09:40:00Z"
    assert record.status == "available" and record.facility == "Riverside Imaging Centre"
    assert "Chest low dose axial" in record.text and "Follow-up of emphysema" in record.text
    assert record.quality == ()
    summary = imaging_summary(study)
    assert summary.modalities == ("CT scan",) and summary.body_sites == ("Thorax",)
    assert (summary.series, summary.images, summary.size_text) == (2, 310, "2 series, 310 images")


def test_series_and_images_are_counted_from_the_series_when_the_study_gives_no_totals() -> None:
    study = {
        "resourceType": "ImagingStudy", "id": "x", "status": "available",
        "description": "Left knee MRI", "started": "2023-05",
        "series": [
            {"modality": {"code": "MR"}, "bodySite": {"display": "Knee"},
             "laterality": {"display": "Left"}, "instance": [{"uid": "1"}, {"uid": "2"}]},
            {"modality": {"code": "MR"}, "numberOfInstances": 20},
        ],
    }  # fmt: skip
    summary = imaging_summary(study)
    assert (summary.series, summary.images) == (2, 22)
    assert summary.modalities == ("MRI",) and summary.body_sites == ("Knee (left)",)
    record = normalise(study)
    assert record is not None and record.title == "Left knee MRI"
    assert record.effective is not None and record.effective.precision is DatePrecision.MONTH


def test_a_study_with_odd_shapes_is_still_shown_and_flagged_not_lost() -> None:
    record = normalise(
        {"resourceType": "ImagingStudy", "id": "y", "numberOfSeries": "two", "series": "x",
         "modality": "CT", "started": "11/03/2024"}
    )  # fmt: skip
    assert record is not None and record.kind is RecordKind.IMAGING
    assert record.title == "Imaging study"
    assert "missing status" in record.quality
    assert any("unreadable date" in flag for flag in record.quality)
    assert imaging_summary({"numberOfSeries": True}).series is None


def test_a_report_reads_a_study_it_names_or_whose_order_it_shares() -> None:
    resources = _resources()
    study, report = resources["ImagingStudy"], resources["DiagnosticReport"]
    assert report_reads_study(report, study)
    by_order = {"basedOn": [{"reference": "https://ehr.example/fhir/ServiceRequest/order-ct-1"}]}
    assert report_reads_study(by_order, study)
    assert not report_reads_study({"imagingStudy": [{"reference": "ImagingStudy/other"}]}, study)
    assert not report_reads_study({}, study)


def test_people_are_named_from_display_contained_or_a_stored_practitioner() -> None:
    resources = _resources()
    stored = {("Practitioner", "pr-okafor"): resources["Practitioner"]}
    people = participants(resources["ImagingStudy"], lambda t, i: stored.get((t, i)))
    assert people == [
        Participant(ORDERED_BY, "Dr Daniel R. Okafor"),
        Participant(PERFORMED_BY, "Ana Ruiz, RT(R)"),
        Participant(INTERPRETED_BY, "Dr Lena Marsh, Radiology"),
    ]
    # Without the stored Practitioner, a bare reference names nobody (an id means nothing).
    assert ORDERED_BY not in {p.role for p in participants(resources["ImagingStudy"])}


def test_requester_performer_and_recorder_across_resource_types() -> None:
    request = {"resourceType": "MedicationRequest", "requester": {"display": "Dr A. Shah"},
               "recorder": {"reference": "PractitionerRole/r1"}}  # fmt: skip
    role = {"practitioner": {"display": "Nurse B. Lee"}}
    assert participants(
        request, lambda t, i: role if (t, i) == ("PractitionerRole", "r1") else None
    ) == [
        Participant(ORDERED_BY, "Dr A. Shah"),
        Participant(RECORDED_BY, "Nurse B. Lee"),
    ]
    procedure = {"resourceType": "Procedure",
                 "performer": [{"actor": {"display": "Riverside Surgery"}},
                               {"actor": {"display": "Riverside Surgery"}}]}  # fmt: skip
    assert participants(procedure) == [Participant(PERFORMED_BY, "Riverside Surgery")]
    organisation = {"name": "Riverside Labs"}
    observation = {"performer": [{"reference": "Organization/o1"}]}
    assert participants(observation, lambda t, i: organisation) == [
        Participant(PERFORMED_BY, "Riverside Labs")
    ]
