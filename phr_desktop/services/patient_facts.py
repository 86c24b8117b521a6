"""What a clinician first wants of a patient record: age and sex, from the stored resource.

The normalised record keeps the birth date as its date and "active" as its status, which is
what the detail showed as "Date" and "Status"; sex is only in the raw resource.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import orjson

from phr_desktop.domain.records import PartialDate
from phr_desktop.services.record_reader import RecordReader

_SEX_WORDS = {"female": "Female", "male": "Male", "other": "Other", "unknown": "Not recorded"}


@dataclass(frozen=True)
class PatientFacts:
    born: PartialDate | None
    age: int | None  # whole years today; None without a birth year
    sex: str | None  # in words


def age_on(born: PartialDate, today: date) -> int:
    """Whole years; a birth date known to the year or month counts from its first day."""
    month = born.month or 1
    day = int(born.day_text[8:10]) if born.day_text else 1
    return today.year - born.year - ((today.month, today.day) < (month, day))


def patient_facts(reader: RecordReader, record_id: int, today: date | None = None) -> PatientFacts:
    stored = reader.record(record_id)
    born = stored.record.effective
    sex = None
    try:
        resource = orjson.loads(reader.raw_source(record_id))
    except (orjson.JSONDecodeError, ValueError):
        resource = None
    if isinstance(resource, dict) and isinstance(resource.get("gender"), str):
        sex = _SEX_WORDS.get(resource["gender"], resource["gender"].capitalize())
    age = age_on(born, today or date.today()) if born is not None else None
    return PatientFacts(born, age, sex)
