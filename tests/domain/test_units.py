"""Specification of AAT concentration and FEV1 volume normalisation."""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from phr_desktop.domain.units import (
    MG_PER_DL_PER_UMOL_PER_L,
    AatUnit,
    UnitError,
    aat_mg_per_dl,
    aat_umol_per_l,
    aat_unit,
    convert_aat,
    volume_ml,
)

AAT_UNIT_SPELLINGS = [
    "mg/dL",
    "mg/dl",
    "g/L",
    "g/l",
    "mg/L",
    "umol/L",
    "µmol/L",
    "μmol/L",
    "uM",
    "µM",
]


def test_one_micromole_per_litre_is_five_point_two_mg_per_dl():
    assert aat_mg_per_dl(1.0, "umol/L") == pytest.approx(5.2)
    assert math.isclose(MG_PER_DL_PER_UMOL_PER_L, 5.2)


def test_the_11_micromolar_protective_threshold_is_about_57_mg_per_dl():
    assert aat_mg_per_dl(11, "µmol/L") == pytest.approx(57.2)


def test_mg_per_dl_converts_to_micromoles_with_factor_0_192():
    assert aat_umol_per_l(100, "mg/dL") == pytest.approx(19.23, abs=0.01)


@pytest.mark.parametrize(
    ("spelling", "unit"),
    [
        ("mg/dL", AatUnit.MG_PER_DL),
        ("mg/dl", AatUnit.MG_PER_DL),
        (" MG/DL ", AatUnit.MG_PER_DL),
        ("g/L", AatUnit.G_PER_L),
        ("g/l", AatUnit.G_PER_L),
        ("mg/L", AatUnit.MG_PER_L),
        ("umol/L", AatUnit.UMOL_PER_L),
        ("umol/l", AatUnit.UMOL_PER_L),
        ("\u00b5mol/L", AatUnit.UMOL_PER_L),  # micro sign
        ("\u03bcmol/L", AatUnit.UMOL_PER_L),  # Greek mu
        ("uM", AatUnit.UMOL_PER_L),
        ("µM", AatUnit.UMOL_PER_L),
    ],
)
def test_common_spellings_of_aat_units_are_recognised(spelling, unit):
    assert aat_unit(spelling) is unit


def test_grams_per_litre_are_one_hundred_mg_per_dl():
    assert aat_mg_per_dl(1.2, "g/L") == pytest.approx(120)


@pytest.mark.parametrize("unit", ["mmol/L", "IU/mL", "", "mg", "%", None])
def test_unknown_aat_units_raise_a_unit_error_that_is_a_value_error(unit):
    with pytest.raises(UnitError) as caught:
        aat_unit(unit)
    assert isinstance(caught.value, ValueError)


def test_converting_with_an_unknown_unit_raises_unit_error():
    with pytest.raises(UnitError, match="alpha-1 antitrypsin"):
        convert_aat(50, "mmol/L", "mg/dL")


@given(
    value=st.floats(min_value=0, max_value=1e6, allow_nan=False),
    source=st.sampled_from(AAT_UNIT_SPELLINGS),
    target=st.sampled_from(AAT_UNIT_SPELLINGS),
)
def test_aat_conversion_round_trips(value, source, target):
    there = convert_aat(value, source, target)
    back = convert_aat(there, target, source)
    assert math.isclose(back, value, rel_tol=1e-9, abs_tol=1e-9)


@given(value=st.floats(min_value=0, max_value=1e6, allow_nan=False))
def test_mg_per_dl_and_micromoles_are_proportional(value):
    assert math.isclose(
        aat_mg_per_dl(aat_umol_per_l(value, "mg/dL"), "umol/L"), value, rel_tol=1e-9, abs_tol=1e-9
    )


@pytest.mark.parametrize(
    ("value", "unit", "ml"),
    [
        (2.5, "L", 2500),
        (2.5, "l", 2500),
        (2.5, "litres", 2500),
        (2500, "mL", 2500),
        (2500, "ml", 2500),
    ],
)
def test_fev1_volumes_are_normalised_to_millilitres(value, unit, ml):
    assert volume_ml(value, unit) == pytest.approx(ml)


@pytest.mark.parametrize("unit", ["%", "L/s", "", None, "kg"])
def test_a_volume_in_an_unknown_unit_raises_unit_error(unit):
    with pytest.raises(UnitError):
        volume_ml(2.5, unit)


@given(st.floats(min_value=0, max_value=20, allow_nan=False))
def test_litres_and_millilitres_agree(litres):
    assert math.isclose(volume_ml(litres, "L"), volume_ml(litres * 1000, "mL"), rel_tol=1e-12)
