"""Telling "no known allergies" (the source says the patient has none) from an allergy, whatever
the source: a C-CDA negated allergy or NKA code, or a FHIR AllergyIntolerance coded as US Core
writes it (SNOMED CT 716186003 "No known allergy" and its drug, food, environmental kin)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

SNOMED = "http://snomed.info/sct"
NO_KNOWN_ALLERGY = ("716186003", "No known allergy")
NO_KNOWN_DRUG_ALLERGY = ("409137002", "No known drug allergy")
NO_KNOWN_FOOD_ALLERGY = ("429625007", "No known food allergy")
NO_KNOWN_ENVIRONMENTAL_ALLERGY = ("428607008", "No known environmental allergy")
# The four above, "no known insect allergy", and the older "no known allergies" situation.
NO_KNOWN_ALLERGY_CODES = frozenset(
    {"716186003", "409137002", "429625007", "428607008", "428197003", "160244002"}
)
_NO_KNOWN_WORDS = re.compile(
    r"\b(no known (drug |food |environmental |latex |insect )?allerg|nkda\b|nka\b)", re.IGNORECASE
)


def is_no_known_allergy(code: Mapping[str, Any] | None) -> bool:
    """Whether an allergy's code (a FHIR CodeableConcept) says there is none."""
    if not isinstance(code, Mapping):
        return False
    codings = [c for c in code.get("coding") or [] if isinstance(c, Mapping)]
    if any(c.get("code") in NO_KNOWN_ALLERGY_CODES for c in codings):
        return True
    words = [str(code.get("text") or "")] + [str(c.get("display") or "") for c in codings]
    return any(_NO_KNOWN_WORDS.search(w) for w in words)
