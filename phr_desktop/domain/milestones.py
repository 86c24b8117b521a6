"""AATD milestones on a patient's timeline: diagnoses, augmentation, FEV1 decline, admissions.

Pure functions over normalised records; `record_indexes` point back into the input sequence
so callers can map each milestone to their own record ids.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date as calendar_date
from enum import StrEnum

from phr_desktop.domain.aatd import AatdPack, Fev1Series
from phr_desktop.domain.records import PartialDate, Record, RecordKind
from phr_desktop.domain.units import UnitError, volume_ml

# A fall of more than this fraction between consecutive FEV1 tests is shown as a milestone.
SIGNIFICANT_FEV1_DROP = 0.10
_DAYS_PER_YEAR = 365.25


class MilestoneKind(StrEnum):
    AATD_DIAGNOSIS = "aatd_diagnosis"
    COPD_DIAGNOSIS = "copd_diagnosis"
    AUGMENTATION_START = "augmentation_start"
    AUGMENTATION_CHANGE = "augmentation_change"
    FEV1_DECLINE = "fev1_decline"
    HOSPITALISATION = "hospitalisation"
    SURGERY = "surgery"


@dataclass(frozen=True, slots=True)
class Milestone:
    kind: MilestoneKind
    date: PartialDate
    title: str
    detail: str
    record_indexes: tuple[int, ...]


@dataclass(frozen=True, slots=True)
class Fev1Result:
    """One FEV1 test in mL, with the index of its record in the caller's sequence."""

    index: int
    date: PartialDate
    ml: float
    series: Fev1Series


def find_milestones(records: Sequence[Record], pack: AatdPack) -> list[Milestone]:
    """All milestones in date order (ties keep input order). Undated records are skipped."""
    dated = sorted(
        ((i, r) for i, r in enumerate(records) if r.effective is not None),
        key=lambda item: (_date_of(item[1]).sort_key, item[0]),
    )
    found: list[Milestone] = []
    found += _first_diagnoses(dated, pack)
    found += _augmentation(dated, pack)
    found += [_decline_milestone(a, b) for a, b in fev1_declines(records, pack)]
    found += _encounters_and_surgery(dated, pack)
    return sorted(found, key=lambda m: (m.date.sort_key, m.record_indexes))


def _date_of(record: Record) -> PartialDate:
    assert record.effective is not None  # callers filter undated records first
    return record.effective


def _first_diagnoses(dated: list[tuple[int, Record]], pack: AatdPack) -> list[Milestone]:
    problems = [(i, r) for i, r in dated if r.kind is RecordKind.PROBLEM]
    out: list[Milestone] = []
    aatd = next(((i, r) for i, r in problems if pack.is_aatd_diagnosis(r.codes, r.title)), None)
    if aatd is not None:
        i, r = aatd
        out.append(
            Milestone(
                MilestoneKind.AATD_DIAGNOSIS,
                _date_of(r),
                "Alpha-1 antitrypsin deficiency diagnosed",
                _with_source(r.title, r),
                (i,),
            )
        )
    copd = next(((i, r) for i, r in problems if pack.is_copd(r.codes, r.title)), None)
    if copd is not None:
        i, r = copd
        out.append(
            Milestone(
                MilestoneKind.COPD_DIAGNOSIS,
                _date_of(r),
                "COPD / emphysema diagnosed",
                _with_source(r.title, r),
                (i,),
            )
        )
    return out


def _augmentation(dated: list[tuple[int, Record]], pack: AatdPack) -> list[Milestone]:
    meds = [
        (i, r)
        for i, r in dated
        if r.kind is RecordKind.MEDICATION and pack.is_augmentation(r.codes, r.title)
    ]
    if not meds:
        return []
    out: list[Milestone] = []
    first_i, first = meds[0]
    brand = pack.augmentation_brand(first.codes, first.title)
    out.append(
        Milestone(
            MilestoneKind.AUGMENTATION_START,
            _date_of(first),
            f"Augmentation therapy started ({brand})" if brand else "Augmentation therapy started",
            _with_source(first.title, first),
            (first_i,),
        )
    )
    # A record naming no brand (a generic "alpha-1 proteinase inhibitor") neither starts
    # nor ends a brand, so it never counts as a change.
    previous: tuple[int, str] | None = (first_i, brand) if brand else None
    for i, r in meds[1:]:
        current = pack.augmentation_brand(r.codes, r.title)
        if current is None:
            continue
        if previous is not None and current != previous[1]:
            out.append(
                Milestone(
                    MilestoneKind.AUGMENTATION_CHANGE,
                    _date_of(r),
                    f"Augmentation changed to {current}",
                    f"From {previous[1]} to {current}",
                    (previous[0], i),
                )
            )
        previous = (i, current)
    return out


def fev1_results(records: Sequence[Record], pack: AatdPack) -> list[Fev1Result]:
    """Dated FEV1 results with a volume in a known unit, in date order (ties: input order)."""
    out: list[Fev1Result] = []
    for i, r in enumerate(records):
        if r.effective is None or r.value is None or r.value.value is None:
            continue
        series = pack.fev1_series(r.codes)
        if series is None:
            continue
        try:
            ml = volume_ml(float(r.value.value), r.value.unit)
        except (UnitError, ValueError, OverflowError):
            continue  # e.g. an FEV1 coded result reported in "%": not a volume
        if not math.isfinite(ml) or ml <= 0:
            continue  # a zero or negative lung volume is a data error, not a decline
        out.append(Fev1Result(i, r.effective, ml, series))
    return sorted(out, key=lambda f: (f.date.sort_key, f.index))


def fev1_declines(records: Sequence[Record], pack: AatdPack) -> list[tuple[Fev1Result, Fev1Result]]:
    """Consecutive FEV1 tests of the same series whose relative drop is over 10 %."""
    by_series: dict[Fev1Series, list[Fev1Result]] = {}
    for result in fev1_results(records, pack):
        by_series.setdefault(result.series, []).append(result)
    pairs: list[tuple[Fev1Result, Fev1Result]] = []
    for results in by_series.values():
        for before, after in itertools.pairwise(results):
            if is_significant_fev1_drop(before.ml, after.ml):
                pairs.append((before, after))
    return pairs


def is_significant_fev1_drop(before_ml: float, after_ml: float) -> bool:
    return before_ml > 0 and (before_ml - after_ml) / before_ml > SIGNIFICANT_FEV1_DROP


def _decline_milestone(before: Fev1Result, after: Fev1Result) -> Milestone:
    drop = (before.ml - after.ml) / before.ml * 100
    series = {
        Fev1Series.PRE_BRONCHODILATOR: " (pre-bronchodilator)",
        Fev1Series.POST_BRONCHODILATOR: " (post-bronchodilator)",
    }.get(after.series, "")
    return Milestone(
        MilestoneKind.FEV1_DECLINE,
        after.date,
        f"FEV1 fell {drop:.0f}%{series}",
        f"FEV1 {before.ml / 1000:.2f} L on {before.date.text[:10]} to "
        f"{after.ml / 1000:.2f} L on {after.date.text[:10]} ({drop:.1f}% lower)",
        (before.index, after.index),
    )


def _encounters_and_surgery(dated: list[tuple[int, Record]], pack: AatdPack) -> list[Milestone]:
    out: list[Milestone] = []
    for i, r in dated:
        if r.kind is RecordKind.ENCOUNTER and pack.is_hospitalisation(r.category):
            title = "Hospital admission" if pack.is_inpatient(r.category) else "Emergency visit"
            out.append(
                Milestone(
                    MilestoneKind.HOSPITALISATION,
                    _date_of(r),
                    title,
                    _with_source(r.title, r),
                    (i,),
                )
            )
        elif r.kind is RecordKind.PROCEDURE and pack.is_surgery(r.category):
            out.append(
                Milestone(
                    MilestoneKind.SURGERY,
                    _date_of(r),
                    f"Surgery: {r.title}" if r.title else "Surgery",
                    _with_source(r.title, r),
                    (i,),
                )
            )
    return out


def _with_source(text: str, record: Record) -> str:
    where = record.facility or record.source_system
    return f"{text} ({where})" if where else text


def fev1_annual_slope_ml_per_year(records: Sequence[Record], pack: AatdPack) -> float | None:
    """Least-squares slope of FEV1 (mL) against time (years) over day-precise results.

    Uses one series only (pre- and post-bronchodilator values are not comparable): the one
    with most results, preferring unspecified, then post-, then pre-bronchodilator on ties.
    None with fewer than two results or when all fall on one day.
    """
    by_series: dict[Fev1Series, list[tuple[float, float]]] = {}
    for result in fev1_results(records, pack):
        day = result.date.day_text
        if day is None:
            continue
        try:
            years = calendar_date.fromisoformat(day).toordinal() / _DAYS_PER_YEAR
        except ValueError:
            continue  # "2021-02-30" passes the FHIR pattern but is no calendar date
        by_series.setdefault(result.series, []).append((years, result.ml))
    preference = [
        Fev1Series.UNSPECIFIED,
        Fev1Series.POST_BRONCHODILATOR,
        Fev1Series.PRE_BRONCHODILATOR,
    ]
    candidates = [s for s in preference if len(by_series.get(s, ())) >= 2]
    if not candidates:
        return None
    points = by_series[max(candidates, key=lambda s: (len(by_series[s]), -preference.index(s)))]
    return least_squares_slope(points)


def least_squares_slope(points: Sequence[tuple[float, float]]) -> float | None:
    """Ordinary least-squares slope of y on x; None when x does not vary."""
    if len(points) < 2:
        return None
    n = len(points)
    mean_x = sum(x for x, _ in points) / n
    mean_y = sum(y for _, y in points) / n
    sxx = sum((x - mean_x) ** 2 for x, _ in points)
    if sxx == 0:
        return None
    sxy = sum((x - mean_x) * (y - mean_y) for x, y in points)
    return sxy / sxx
