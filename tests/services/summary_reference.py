"""The summaries as they were computed before the narrow reads: every candidate record read in
full through `Session.records`, and the AATD pack asked about each one. Slow at 500k records,
and plainly right: the fast path (services/aatd_summary.py, vault/summary_reads.py) must give
exactly what these give, in the same order.
"""

from __future__ import annotations

from phr_desktop.domain.milestones import fev1_annual_slope_ml_per_year
from phr_desktop.domain.records import Code, RecordKind
from phr_desktop.domain.trends import build_trend, matches_key, trend_key
from phr_desktop.services.record_reader import MilestoneView, milestone_views
from phr_desktop.services.record_views import AatdOverview, TrendView
from phr_desktop.services.session import RecordFilter, Session, StoredRecord
from phr_desktop.services.terminology import aatd_pack

LAB = RecordKind.LAB_RESULT.value


def _of_kind(session: Session, kind: str) -> list[StoredRecord]:
    return session.records(RecordFilter(kinds=(kind,)))  # newest first, one fact once


def _carries_any(codes: tuple[Code, ...], wanted: list[str]) -> bool:
    """What `instr(codes JSON, '"code"')` found: the string as any system, code or display."""
    return any(text in wanted for c in codes for text in (c.system, c.code, c.display))


def _with_codes(session: Session, kind: str, wanted: list[str]) -> list[StoredRecord]:
    return [s for s in _of_kind(session, kind) if _carries_any(s.record.codes, wanted)]


def _of_category(session: Session, kind: str, categories: set[str]) -> list[StoredRecord]:
    upper = {c.upper() for c in categories}
    return [s for s in _of_kind(session, kind) if (s.record.category or "").upper() in upper]


def milestone_sources(session: Session) -> list[StoredRecord]:
    pack = aatd_pack()
    return [
        *session.records(RecordFilter(kinds=("problem", "medication"))),
        *_of_category(session, "encounter", set(pack.inpatient_classes | pack.emergency_classes)),
        *_of_category(session, "procedure", set(pack.surgery_categories)),
        *_with_codes(session, LAB, pack.codes_of_set("fev1")),
    ]


def milestones(session: Session) -> list[MilestoneView]:
    return milestone_views(milestone_sources(session))


def _trend(session: Session, first: StoredRecord) -> TrendView:
    key = trend_key(first.record)
    candidates = (
        _of_kind(session, first.record.kind.value) if key[0] == "title" else session.records()
    )
    series = sorted(
        (s for s in candidates if matches_key(s.record.codes, s.record.title, key)),
        key=lambda s: (s.record.effective.sort_key if s.record.effective else "", s.id),
    )
    trend = build_trend([s.record for s in series], aatd_pack())
    return TrendView(trend, tuple(series[p.index].id for p in trend.points), first.id)


def aatd_overview(session: Session) -> AatdOverview:
    pack = aatd_pack()

    def results(set_name: str) -> list[StoredRecord]:
        return _with_codes(session, LAB, pack.codes_of_set(set_name))

    aat = [s for s in results("aat_level") if pack.is_aat_level(s.record.codes)]
    fev1 = [s for s in results("fev1") if pack.is_fev1(s.record.codes)]
    fev1_pct = [
        s
        for s in results("fev1_percent_predicted")
        if pack.is_fev1_percent_predicted(s.record.codes)
    ]
    genotype, genotype_record = None, None
    for s in _of_kind(session, LAB):  # newest first
        text = s.record.value.text if s.record.value else None
        found = pack.genotype_of(text) if text is not None else None
        if found:
            genotype, genotype_record = found, s
            break
    infusions = [
        s
        for s in _of_kind(session, RecordKind.MEDICATION.value)
        if s.record.category == "administration"
        and pack.is_augmentation(s.record.codes, s.record.title)
    ]
    return AatdOverview(
        aat=_trend(session, aat[0]) if aat else None,
        fev1=_trend(session, fev1[0]) if fev1 else None,
        fev1_percent=_trend(session, fev1_pct[0]) if fev1_pct else None,
        fev1_slope_ml_per_year=fev1_annual_slope_ml_per_year(
            [s.record for s in results("fev1")], pack
        ),
        genotype=genotype,
        genotype_record=genotype_record,
        infusions=infusions,
        milestones=milestones(session),
    )


def current_medications(session: Session, limit: int = 12) -> list[StoredRecord]:
    seen: set[str] = set()
    found: list[StoredRecord] = []
    for stored in _of_kind(session, RecordKind.MEDICATION.value):
        r = stored.record
        listed = r.resource_type in ("MedicationStatement", "MedicationRequest")
        if not listed or (r.status or "").lower() not in ("active", "intended", "on-hold"):
            continue
        key = r.title.strip().lower()
        if key in seen:
            continue
        seen.add(key)
        found.append(stored)
        if len(found) >= limit:
            break
    return found
