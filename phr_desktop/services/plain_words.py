"""Words a patient reads instead of FHIR and HL7 terms: resource types, interpretation codes,
record statuses. One place, shared by the app and the CLI's human output.

Codes the tables do not know are shown as they came: a lab's own flag is still information.
"""

from __future__ import annotations

import re

# A received share's view-only request, said where its files are shown (a constant here, not in
# share_opening.py, so the record view does not import the share-opening crypto at start).
VIEW_ONLY_NOTE = (
    "View only: the patient asked that attached files not be saved, so this viewer offers no "
    "save. This is a request, not a lock: a determined recipient can still copy what they see."
)

# FHIR resource types as a patient names what they hold (plural: progress and counts).
RESOURCE_TYPE_WORDS = {
    "AllergyIntolerance": "allergies",
    "Binary": "files",
    "CarePlan": "care plans",
    "CareTeam": "care team",
    "Condition": "conditions",
    "Coverage": "insurance",
    "Device": "devices",
    "DiagnosticReport": "reports",
    "DocumentReference": "documents",
    "Encounter": "visits",
    "FamilyMemberHistory": "family history",
    "Goal": "goals",
    "Immunization": "vaccines",
    "Location": "places",
    "Medication": "medicines",
    "MedicationAdministration": "medicines given",
    "MedicationDispense": "medicines dispensed",
    "MedicationRequest": "prescriptions",
    "MedicationStatement": "medicines",
    "Observation": "test results and measurements",
    "Organization": "organisations",
    "Patient": "your details",
    "Practitioner": "clinicians",
    "PractitionerRole": "clinicians",
    "Procedure": "procedures",
    "Provenance": "where records came from",
    "RelatedPerson": "family and carers",
    "ServiceRequest": "orders and referrals",
}

# HL7 v3 ObservationInterpretation (what FHIR's Observation.interpretation carries).
INTERPRETATION_WORDS = {
    "L": "Low",
    "LL": "Critically low",
    "LU": "Very low",
    "H": "High",
    "HH": "Critically high",
    "HU": "Very high",
    "N": "Normal",
    "A": "Abnormal",
    "AA": "Critically abnormal",
    "<": "Below what the test can measure",
    ">": "Above what the test can measure",
    "POS": "Positive",
    "NEG": "Negative",
    "DET": "Detected",
    "ND": "Not detected",
    "IND": "Indeterminate",
    "E": "Equivocal",
    "S": "Susceptible",
    "R": "Resistant",
    "I": "Intermediate",
    "U": "Significant change up",
    "D": "Significant change down",
    "B": "Better",
    "W": "Worse",
}

# Statuses worth a line, in words; the routine ones ("final", "completed", "current") are
# left out: a patient reads nothing from them.
_STATUS_WORDS = {
    "preliminary": "Preliminary: the final result may differ",
    "registered": "Ordered, no result yet",
    "amended": "Amended by the source after it was first reported",
    "corrected": "Corrected by the source after it was first reported",
    "cancelled": "Cancelled",
    "entered-in-error": "Entered in error by the source",
    "resolved": "Resolved",
    "inactive": "No longer current",
    "remission": "In remission",
    "recurrence": "Came back",
    "relapse": "Came back",
    "stopped": "Stopped",
    "on-hold": "Paused",
    "intended": "Planned",
    "draft": "Draft",
    "not-done": "Not done",
    "refuted": "Ruled out",
    "superseded": "Replaced by a newer version",
}
_MEDICATION_STATUS = {"active": "Taking", "completed": "Finished"}
_ROUTINE = {"final", "completed", "active", "current", "confirmed", "unknown", "finished"}


def resource_type_words(resource_type: str) -> str:
    return RESOURCE_TYPE_WORDS.get(resource_type, resource_type)


def interpretation_words(code: str | None) -> str | None:
    """ "L" → "Low"; a code or text the table does not know comes back unchanged."""
    if not code:
        return None
    parts = [INTERPRETATION_WORDS.get(p.strip().upper(), p.strip()) for p in code.split(",")]
    return ", ".join(p for p in parts if p) or None


def status_words(status: str | None, kind: str = "") -> str | None:
    """A record status in words, or None when it is routine ("final") or missing."""
    if not status:
        return None
    key = status.strip().lower()
    if kind == "medication" and key in _MEDICATION_STATUS:
        return _MEDICATION_STATUS[key]
    if key in _ROUTINE:
        return None
    return _STATUS_WORDS.get(key, status.replace("-", " ").capitalize())


_FETCHED = re.compile(r"^(?P<type>[A-Z][A-Za-z]+): (?P<count>[\d,]+) fetched$")


def sync_progress_words(message: str) -> str:
    """The sync engine's "Observation: 120 fetched" as "test results and measurements: 120
    received"; any other message unchanged."""
    found = _FETCHED.match(message)
    if found is None:
        return message
    words = resource_type_words(found["type"])
    return f"{words[:1].upper()}{words[1:]}: {found['count']} received"
