"""What the record detail and AATD screens show: trends, related records, the AATD overview."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from phr_desktop.domain.records import RecordKind
from phr_desktop.domain.trends import Trend, build_trend, matches_key, trend_key
from phr_desktop.services.aatd_summary import augmentation_infusions, newest_genotype
from phr_desktop.services.terminology import aatd_pack
from phr_desktop.vault.queries import RecordFilter
from phr_desktop.vault.stored_record import StoredRecord

if TYPE_CHECKING:
    from phr_desktop.services.record_reader import MilestoneView, RecordReader


@dataclass(frozen=True)
class TrendView:
    trend: Trend
    record_ids: tuple[int, ...]  # one per trend point, same order
    current_id: int

    @property
    def current_index(self) -> int | None:
        return (
            self.record_ids.index(self.current_id) if self.current_id in self.record_ids else None
        )


@dataclass(frozen=True)
class Related:
    same_test: list[StoredRecord]
    same_encounter: list[StoredRecord]
    same_day: list[StoredRecord]


@dataclass(frozen=True)
class AatdOverview:
    aat: TrendView | None
    fev1: TrendView | None
    fev1_percent: TrendView | None
    fev1_slope_ml_per_year: float | None
    genotype: str | None
    genotype_record: StoredRecord | None
    infusions: list[StoredRecord]  # augmentation administrations, newest first
    milestones: list[MilestoneView]


class RecordViews:
    def __init__(self, session: RecordReader) -> None:
        self.session = session
        self.queries = session.queries

    def same_test(self, stored: StoredRecord) -> list[StoredRecord]:
        """Every record of the same test (same LOINC/other code, else the same title)."""
        key = trend_key(stored.record)
        if key[0] == "title":
            candidates = self.queries.records(RecordFilter(kinds=(stored.record.kind.value,)))
        else:
            candidates = self.queries.with_code(key[1])
        return [s for s in candidates if matches_key(s.record.codes, s.record.title, key)]

    def trend(self, record_id: int) -> TrendView:
        current = self.session.record(record_id)
        series = sorted(
            self.same_test(current),
            key=lambda s: (s.record.effective.sort_key if s.record.effective else "", s.id),
        )
        trend = build_trend([s.record for s in series], aatd_pack())
        return TrendView(trend, tuple(series[p.index].id for p in trend.points), record_id)

    def related(self, record_id: int) -> Related:
        current = self.session.record(record_id)
        r = current.record
        same_test = [s for s in self.same_test(current) if s.id != record_id]
        nearby = self.queries.same_day_or_encounter(
            record_id, r.effective.day_text if r.effective else None, r.encounter_ref
        )
        day = r.effective.day_text if r.effective else None
        return Related(
            same_test=same_test,
            same_encounter=[
                s for s in nearby if r.encounter_ref and s.record.encounter_ref == r.encounter_ref
            ],
            same_day=[
                s
                for s in nearby
                if day and s.record.effective and s.record.effective.day_text == day
            ],
        )

    def _first_trend(self, stored: list[StoredRecord]) -> TrendView | None:
        return self.trend(stored[0].id) if stored else None

    def aatd_overview(self) -> AatdOverview:
        pack = aatd_pack()
        lab = RecordKind.LAB_RESULT.value

        def results(set_name: str) -> list[StoredRecord]:
            return self.queries.of_kind_with_codes(lab, pack.codes_of_set(set_name))

        aat = [s for s in results("aat_level") if pack.is_aat_level(s.record.codes)]
        fev1 = [s for s in results("fev1") if pack.is_fev1(s.record.codes)]
        fev1_pct = [
            s
            for s in results("fev1_percent_predicted")
            if pack.is_fev1_percent_predicted(s.record.codes)
        ]
        genotype = newest_genotype(self.queries)
        return AatdOverview(
            aat=self._first_trend(aat),
            fev1=self._first_trend(fev1),
            fev1_percent=self._first_trend(fev1_pct),
            fev1_slope_ml_per_year=self.session.fev1_slope_ml_per_year(),
            genotype=genotype[0] if genotype else None,
            genotype_record=genotype[1] if genotype else None,
            infusions=augmentation_infusions(self.queries),
            milestones=self.session.milestones(),
        )
