"""The AAT-level story (domain/aat_level.py) for a stored result, in mg/dL whatever unit the
lab used; None for any other test or a unit that cannot be converted."""

from __future__ import annotations

from phr_desktop.domain.aat_level import AatReading, describe_aat_level
from phr_desktop.domain.records import Record
from phr_desktop.domain.units import UnitError, aat_mg_per_dl
from phr_desktop.services.terminology import aatd_pack


def aat_reading(record: Record) -> AatReading | None:
    value = record.value
    if value is None or value.value is None or not aatd_pack().is_aat_level(record.codes):
        return None
    unit = value.unit or ""
    try:
        level = aat_mg_per_dl(value.value, unit)
        rr = record.reference_range
        low = aat_mg_per_dl(rr.low, unit) if rr is not None and rr.low is not None else None
        high = aat_mg_per_dl(rr.high, unit) if rr is not None and rr.high is not None else None
    except UnitError:
        return None
    return describe_aat_level(level, low, high)
