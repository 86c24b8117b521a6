"""Trends: the same test over time, in one unit, with the reference band of the latest result."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from phr_desktop.domain.aatd import AatdPack
from phr_desktop.domain.codes import LOINC
from phr_desktop.domain.records import Code, PartialDate, Record
from phr_desktop.domain.units import UnitError, aat_mg_per_dl, volume_ml

# The ATS/ERS protective threshold for serum AAT, 11 µmol/L, in mg/dL (see units.py).
AAT_PROTECTIVE_MG_DL = 57.0


@dataclass(frozen=True)
class TrendPoint:
    date: PartialDate
    value: float
    index: int  # into the records given to build_trend


@dataclass(frozen=True)
class Trend:
    title: str
    unit: str | None
    points: tuple[TrendPoint, ...]
    low: float | None = None
    high: float | None = None
    threshold: float | None = None  # a clinical line to draw (AAT's protective level)

    def slope_per_year(self) -> float | None:
        """Least-squares change per year over day-precise points; None with fewer than 2."""
        xs = [_years(p.date) for p in self.points if p.date.day_text]
        ys = [p.value for p in self.points if p.date.day_text]
        if len(xs) < 2 or max(xs) == min(xs):
            return None
        mx, my = sum(xs) / len(xs), sum(ys) / len(ys)
        den = sum((x - mx) ** 2 for x in xs)
        return sum((x - mx) * (y - my) for x, y in zip(xs, ys, strict=True)) / den


def _years(date: PartialDate) -> float:
    text = date.day_text or f"{date.year}-01-01"
    year, month, day = (int(p) for p in text.split("-"))
    return year + (month - 1) / 12 + (day - 1) / 365.25


def trend_key(record: Record) -> tuple[str, str]:
    """What makes two results "the same test": a LOINC code, else any code, else the title."""
    for preferred in (True, False):
        for c in record.codes:
            if c.code and (c.system == LOINC or not preferred):
                return (c.system or "", c.code)
    return ("title", record.title.strip().lower())


def matches_key(codes: Sequence[Code], title: str, key: tuple[str, str]) -> bool:
    if key[0] == "title":
        return title.strip().lower() == key[1]
    return any((c.system or "") == key[0] and c.code == key[1] for c in codes)


def _converter(latest: Record, pack: AatdPack) -> tuple[str | None, float | None, Any]:
    """(unit, threshold, convert(value, unit) -> value in that unit) for this test."""
    if pack.is_aat_level(latest.codes):
        return "mg/dL", AAT_PROTECTIVE_MG_DL, lambda v, u: aat_mg_per_dl(v, u or "")
    if pack.is_fev1(latest.codes):
        return "L", None, lambda v, u: volume_ml(v, u) / 1000
    wanted = latest.value.unit if latest.value else None

    def same_unit_only(value: float, unit: str | None) -> float:
        if unit != wanted:
            raise UnitError(f"{unit!r} is not {wanted!r}")
        return value

    return wanted, None, same_unit_only


def build_trend(records: Sequence[Record], pack: AatdPack) -> Trend:
    """Numeric results of one test in date order, converted to one unit where we know how.

    AAT levels are shown in mg/dL and FEV1 in litres whatever the source used; for other
    tests the latest result's unit wins and results in other units are left out (never mixed).
    """
    dated = [
        (i, r.effective, r.value.value, r.value.unit, r)
        for i, r in enumerate(records)
        if r.effective and r.value and r.value.value is not None and math.isfinite(r.value.value)
    ]
    if not dated:
        return Trend(records[0].title if records else "", None, ())
    latest = max(dated, key=lambda item: (item[1].sort_key, item[0]))[4]
    unit, threshold, convert = _converter(latest, pack)
    points: list[TrendPoint] = []
    for i, date, value, value_unit, _ in dated:
        try:
            points.append(TrendPoint(date, convert(value, value_unit), i))
        except UnitError:
            continue  # a unit we cannot convert is left out, never plotted on the wrong scale
    points.sort(key=lambda p: (p.date.sort_key, p.index))
    low = high = None
    rr, latest_unit = latest.reference_range, latest.value.unit if latest.value else None
    if rr is not None:
        try:  # the band in the trend's unit
            low = convert(rr.low, latest_unit) if rr.low is not None else None
            high = convert(rr.high, latest_unit) if rr.high is not None else None
        except UnitError:
            low = high = None
    return Trend(latest.title, unit, tuple(points), low, high, threshold)
