"""No FHIR or HL7 words where a patient reads: resource types, interpretation codes, statuses."""

from __future__ import annotations

from phr_desktop.services.plain_words import (
    interpretation_words,
    resource_type_words,
    status_words,
    sync_progress_words,
)


def test_interpretation_codes_read_as_words() -> None:
    assert interpretation_words("L") == "Low"
    assert interpretation_words("HH") == "Critically high"
    assert interpretation_words("n") == "Normal"
    assert interpretation_words("H, POS") == "High, Positive"
    assert interpretation_words("Above reference") == "Above reference"  # a lab's own words
    assert interpretation_words(None) is None


def test_routine_statuses_are_hidden_and_the_others_are_in_words() -> None:
    assert status_words("final") is None
    assert status_words("preliminary") == "Preliminary: the final result may differ"
    assert status_words("entered-in-error") == "Entered in error by the source"
    assert status_words("active", "medication") == "Taking"
    assert status_words("active", "problem") is None
    assert status_words("some-local-status") == "Some local status"


def test_sync_progress_names_what_arrives() -> None:
    assert sync_progress_words("Observation: 120 fetched") == (
        "Test results and measurements: 120 received"
    )
    assert sync_progress_words("MedicationRequest: 3 fetched") == "Prescriptions: 3 received"
    assert sync_progress_words("Looking up the server") == "Looking up the server"
    assert resource_type_words("Immunization") == "vaccines"
