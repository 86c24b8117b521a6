"""Specification of AATD milestones and the FEV1 trend."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from phr_desktop.domain.aatd import AatdPack
from phr_desktop.domain.codes import ICD10_CM, LOINC, SNOMED
from phr_desktop.domain.milestones import (
    MilestoneKind,
    fev1_annual_slope_ml_per_year,
    find_milestones,
)
from phr_desktop.domain.records import (
    Code,
    PartialDate,
    Quantity,
    Record,
    RecordKind,
    parse_partial_date,
)
from phr_desktop.resources import load_json

PACK = AatdPack.from_mapping(load_json("valuesets", "aatd.json"))

FEV1 = (Code(LOINC, "20150-9", "FEV1"),)
FEV1_POST = (Code(LOINC, "20155-8", "FEV1 --post bronchodilation"),)


def when(text: str) -> PartialDate:
    parsed = parse_partial_date(text)
    assert parsed is not None
    return parsed


def record(kind: RecordKind, title: str, on: str | None, **fields) -> Record:
    return Record(
        resource_type="Test",
        resource_id=f"{kind}-{title}-{on}",
        kind=kind,
        title=title,
        effective=when(on) if on else None,
        **fields,
    )


def problem(title: str, on: str | None, codes: tuple[Code, ...] = ()) -> Record:
    return record(RecordKind.PROBLEM, title, on, codes=codes)


def medication(title: str, on: str | None) -> Record:
    return record(RecordKind.MEDICATION, title, on)


def fev1(litres: float, on: str | None, codes=FEV1, unit: str = "L") -> Record:
    return record(RecordKind.LAB_RESULT, "FEV1", on, codes=codes, value=Quantity(litres, unit))


def kinds(milestones) -> list[MilestoneKind]:
    return [m.kind for m in milestones]


# ---- diagnoses --------------------------------------------------------------------------


def test_aatd_diagnosis_is_the_earliest_matching_problem_once():
    records = [
        problem("AATD", "2019-05-01", (Code(ICD10_CM, "E88.01"),)),
        problem("Alpha-1 antitrypsin deficiency", "2015-02-03", (Code(SNOMED, "30188007"),)),
        problem("Hypertension", "2010-01-01"),
    ]
    found = [m for m in find_milestones(records, PACK) if m.kind is MilestoneKind.AATD_DIAGNOSIS]
    assert len(found) == 1
    assert found[0].date.text == "2015-02-03"
    assert found[0].record_indexes == (1,)


def test_first_copd_or_emphysema_diagnosis_is_one_milestone():
    records = [
        problem("COPD", "2018-01-01", (Code(ICD10_CM, "J44.9"),)),
        problem("Pulmonary emphysema", "2016-06", (Code(SNOMED, "87433001"),)),
    ]
    found = [m for m in find_milestones(records, PACK) if m.kind is MilestoneKind.COPD_DIAGNOSIS]
    assert [(m.date.text, m.record_indexes) for m in found] == [("2016-06", (1,))]


def test_diagnoses_in_non_problem_records_are_not_milestones():
    note = record(RecordKind.CLINICAL_NOTE, "Alpha-1 antitrypsin deficiency", "2015-01-01")
    assert find_milestones([note], PACK) == []


def test_records_without_a_date_are_skipped():
    records = [
        problem("Alpha-1 antitrypsin deficiency", None, (Code(SNOMED, "30188007"),)),
        medication("Zemaira", None),
        fev1(3.0, None),
        fev1(2.0, None),
    ]
    assert find_milestones(records, PACK) == []


# ---- augmentation -----------------------------------------------------------------------


def test_augmentation_start_is_the_earliest_augmentation_medication():
    records = [
        medication("Zemaira 4 g weekly", "2020-03-01"),
        medication("Prolastin-C", "2018-01-10"),
    ]
    found = find_milestones(records, PACK)
    assert kinds(found)[0] is MilestoneKind.AUGMENTATION_START
    assert found[0].date.text == "2018-01-10"
    assert "Prolastin-C" in found[0].title
    assert found[0].record_indexes == (1,)


@pytest.mark.parametrize("brand", ["Prolastin-C", "Aralast NP", "Zemaira", "Glassia"])
def test_augmentation_start_is_found_for_every_brand(brand):
    found = find_milestones([medication(brand.upper(), "2020-01-01")], PACK)
    assert kinds(found) == [MilestoneKind.AUGMENTATION_START]
    assert brand in found[0].title


def test_each_later_brand_change_is_a_milestone():
    records = [
        medication("Prolastin-C", "2018-01-01"),
        medication("Prolastin-C", "2018-06-01"),
        medication("Zemaira", "2019-01-01"),
        medication("Zemaira", "2019-02-01"),
        medication("Glassia", "2021-01-01"),
    ]
    changes = [
        m for m in find_milestones(records, PACK) if m.kind is MilestoneKind.AUGMENTATION_CHANGE
    ]
    assert [(m.date.text, m.detail) for m in changes] == [
        ("2019-01-01", "From Prolastin-C to Zemaira"),
        ("2021-01-01", "From Zemaira to Glassia"),
    ]
    assert changes[0].record_indexes == (1, 2)


def test_a_generic_alpha1_proteinase_inhibitor_entry_starts_but_never_changes_the_brand():
    records = [
        medication("Alpha-1 proteinase inhibitor (human)", "2017-01-01"),
        medication("Aralast NP", "2018-01-01"),
        medication("alpha1-proteinase inhibitor", "2018-06-01"),
        medication("Aralast NP", "2019-01-01"),
    ]
    found = find_milestones(records, PACK)
    assert kinds(found) == [MilestoneKind.AUGMENTATION_START]
    assert found[0].date.text == "2017-01-01"


def test_other_medications_are_not_augmentation():
    assert find_milestones([medication("Tiotropium", "2020-01-01")], PACK) == []


# ---- FEV1 -------------------------------------------------------------------------------


def test_a_fev1_drop_over_ten_percent_between_consecutive_tests_is_a_milestone():
    records = [fev1(2.50, "2019-01-10"), fev1(2.40, "2020-01-10"), fev1(2.10, "2021-01-10")]
    found = find_milestones(records, PACK)
    assert kinds(found) == [MilestoneKind.FEV1_DECLINE]
    decline = found[0]
    assert decline.date.text == "2021-01-10"
    assert decline.record_indexes == (1, 2)
    assert "2.40 L" in decline.detail and "2.10 L" in decline.detail
    assert "12.5%" in decline.detail


def test_exactly_ten_percent_is_not_significant():
    assert find_milestones([fev1(2.50, "2019-01-01"), fev1(2.25, "2020-01-01")], PACK) == []


def test_fev1_in_millilitres_and_litres_are_compared_on_one_scale():
    records = [fev1(2500, "2019-01-01", unit="mL"), fev1(2.0, "2020-01-01", unit="L")]
    assert kinds(find_milestones(records, PACK)) == [MilestoneKind.FEV1_DECLINE]


def test_fev1_results_are_compared_in_date_order_not_input_order():
    records = [fev1(2.0, "2021-01-01"), fev1(3.0, "2019-01-01"), fev1(2.9, "2020-01-01")]
    found = find_milestones(records, PACK)
    assert [m.record_indexes for m in found] == [(2, 0)]


def test_pre_and_post_bronchodilator_fev1_are_never_compared():
    records = [fev1(3.0, "2019-01-01", codes=FEV1_POST), fev1(2.0, "2019-01-01")]
    assert find_milestones(records, PACK) == []


def test_fev1_reported_in_an_unknown_unit_is_skipped():
    records = [fev1(3.0, "2019-01-01"), fev1(60, "2020-01-01", unit="%"), fev1(2.95, "2021-01-01")]
    assert find_milestones(records, PACK) == []


# ---- encounters and procedures ---------------------------------------------------------


@pytest.mark.parametrize(
    ("category", "title"),
    [
        ("IMP", "Hospital admission"),
        ("ACUTE", "Hospital admission"),
        ("NONAC", "Hospital admission"),
        ("EMER", "Emergency visit"),
        ("emer", "Emergency visit"),
    ],
)
def test_inpatient_and_emergency_encounters_are_hospitalisations(category, title):
    visit = record(RecordKind.ENCOUNTER, "Pneumonia", "2020-02-02", category=category)
    found = find_milestones([visit], PACK)
    assert kinds(found) == [MilestoneKind.HOSPITALISATION]
    assert found[0].title == title


@pytest.mark.parametrize("category", ["AMB", "OBSENC", "VR", None])
def test_ambulatory_and_other_encounters_are_not_hospitalisations(category):
    visit = record(RecordKind.ENCOUNTER, "Clinic visit", "2020-02-02", category=category)
    assert find_milestones([visit], PACK) == []


def test_procedures_categorised_as_surgery_are_milestones():
    records = [
        record(RecordKind.PROCEDURE, "Lung volume reduction", "2021-05-05", category="surgery"),
        record(RecordKind.PROCEDURE, "Spirometry", "2021-05-06", category="diagnostic"),
    ]
    found = find_milestones(records, PACK)
    assert [(m.kind, m.title) for m in found] == [
        (MilestoneKind.SURGERY, "Surgery: Lung volume reduction")
    ]


def test_milestones_of_all_kinds_come_back_sorted_by_date():
    records = [
        record(RecordKind.ENCOUNTER, "Admission", "2022-01-01", category="IMP"),
        problem("Alpha-1 antitrypsin deficiency", "2015", (Code(SNOMED, "30188007"),)),
        medication("Prolastin-C", "2016-03-01T10:00:00Z"),
        problem("COPD", "2014-07-01", (Code(SNOMED, "13645005"),)),
    ]
    found = find_milestones(records, PACK)
    assert kinds(found) == [
        MilestoneKind.COPD_DIAGNOSIS,
        MilestoneKind.AATD_DIAGNOSIS,
        MilestoneKind.AUGMENTATION_START,
        MilestoneKind.HOSPITALISATION,
    ]


# ---- FEV1 slope -------------------------------------------------------------------------


def test_fev1_slope_is_millilitres_per_year():
    records = [fev1(3.0, "2010-01-01"), fev1(2.9, "2012-01-01"), fev1(2.8, "2014-01-01")]
    slope = fev1_annual_slope_ml_per_year(records, PACK)
    assert slope == pytest.approx(-50, abs=0.1)


def test_fev1_slope_needs_two_results_on_different_days():
    assert fev1_annual_slope_ml_per_year([fev1(3.0, "2010-01-01")], PACK) is None
    same_day = [fev1(3.0, "2010-01-01"), fev1(2.0, "2010-01-01T15:00:00Z")]
    assert fev1_annual_slope_ml_per_year(same_day, PACK) is None
    assert fev1_annual_slope_ml_per_year([], PACK) is None


def test_fev1_slope_ignores_results_less_precise_than_a_day():
    records = [fev1(3.0, "2010"), fev1(2.0, "2012-05"), fev1(2.5, "2014-01-01")]
    assert fev1_annual_slope_ml_per_year(records, PACK) is None


# ---- properties -------------------------------------------------------------------------

DATES = st.dates(min_value=date(1990, 1, 1), max_value=date(2030, 12, 31))
PARTIAL_DATES = st.one_of(
    st.none(),
    DATES.map(lambda d: d.isoformat()),
    DATES.map(lambda d: d.isoformat()[:7]),
    DATES.map(lambda d: d.isoformat()[:4]),
    DATES.map(lambda d: d.isoformat() + "T08:30:00Z"),
)
CODES = st.sampled_from(
    [
        (),
        FEV1,
        FEV1_POST,
        (Code(ICD10_CM, "E88.01"),),
        (Code(SNOMED, "13645005"),),
        (Code(LOINC, "1825-9"),),
        (Code(None, None),),
    ]
)
TITLES = st.sampled_from(
    ["", "Zemaira", "Prolastin-C", "Glassia", "Aralast NP", "COPD", "Admission", "x"]
)


@st.composite
def any_record(draw) -> Record:
    on = draw(PARTIAL_DATES)
    value = draw(
        st.one_of(
            st.none(),
            st.builds(
                Quantity,
                st.one_of(st.none(), st.floats(allow_nan=True, allow_infinity=True)),
                st.sampled_from([None, "L", "mL", "%", "kg", "µmol/L"]),
            ),
        )
    )
    return Record(
        resource_type="Test",
        resource_id="r",
        kind=draw(st.sampled_from(list(RecordKind))),
        title=draw(TITLES),
        category=draw(st.sampled_from([None, "IMP", "EMER", "AMB", "surgery", "other"])),
        effective=parse_partial_date(on) if on else None,
        value=value,
        codes=draw(CODES),
    )


@settings(max_examples=200)
@given(st.lists(any_record(), max_size=25))
def test_find_milestones_never_raises_and_returns_sorted_valid_milestones(records):
    found = find_milestones(records, PACK)
    keys = [m.date.sort_key for m in found]
    assert keys == sorted(keys)
    for m in found:
        assert m.record_indexes
        assert all(0 <= i < len(records) for i in m.record_indexes)
        assert all(records[i].effective is not None for i in m.record_indexes)
    assert kinds(found).count(MilestoneKind.AATD_DIAGNOSIS) <= 1
    assert kinds(found).count(MilestoneKind.COPD_DIAGNOSIS) <= 1
    assert kinds(found).count(MilestoneKind.AUGMENTATION_START) <= 1


@settings(max_examples=200)
@given(
    st.lists(
        st.tuples(DATES, st.integers(min_value=1, max_value=6000)),
        max_size=15,
    )
)
def test_fev1_decline_detection_agrees_with_a_brute_force_check(tests):
    records = [fev1(ml, d.isoformat(), unit="mL") for d, ml in tests]
    found = [m for m in find_milestones(records, PACK) if m.kind is MilestoneKind.FEV1_DECLINE]

    in_order = sorted(range(len(tests)), key=lambda i: (tests[i][0], i))
    expected = set()
    for position in range(1, len(in_order)):
        before, after = in_order[position - 1], in_order[position]
        before_ml, after_ml = tests[before][1], tests[after][1]
        if (before_ml - after_ml) * 10 > before_ml:  # exact integer form of "drop > 10 %"
            expected.add((before, after))
    assert {m.record_indexes for m in found} == expected


@given(
    st.lists(st.dates(date(2015, 1, 1), date(2020, 12, 31)), min_size=2, max_size=10, unique=True),
    st.floats(min_value=-300, max_value=300),
    st.integers(min_value=2000, max_value=4000),
)
def test_fev1_slope_recovers_a_straight_line(days, ml_per_year, start_ml):
    first = min(days)
    records = [
        fev1(start_ml + ml_per_year * (d - first).days / 365.25, d.isoformat(), unit="mL")
        for d in days
    ]
    assert fev1_annual_slope_ml_per_year(records, PACK) == pytest.approx(ml_per_year, abs=1e-6)


def test_slope_uses_the_series_with_most_results():
    start = date(2015, 1, 1)
    post = [
        fev1(2.0 - 0.1 * i, (start + timedelta(days=365 * i)).isoformat(), codes=FEV1_POST)
        for i in range(3)
    ]
    plain = [fev1(3.0, "2015-01-01"), fev1(3.5, "2016-01-01")]
    slope = fev1_annual_slope_ml_per_year(post + plain, PACK)
    assert slope is not None and slope < 0
