"""Unit normalisation for the AATD pack: serum AAT concentrations and FEV1 volumes.

Pure functions; an unknown unit raises `UnitError` so callers can skip that one result
rather than plot a number on the wrong scale.
"""

from __future__ import annotations

from enum import StrEnum


class UnitError(ValueError):
    """A unit we do not know how to convert; the result is kept but not converted."""


class AatUnit(StrEnum):
    MG_PER_DL = "mg/dL"
    G_PER_L = "g/L"
    MG_PER_L = "mg/L"
    UMOL_PER_L = "umol/L"


# AAT is a ~52 kDa glycoprotein ("a 52-kDa antiprotease", Chest 1991;100:703-8, PMID
# 1889260; the Thorax AAT reference-range table converts g/L to µM "based on a molecular
# weight of 52 kDa"). So 1 mg/dL = 10 mg/L / 52 000 g/mol = 0.1923 µmol/L, i.e.
# mg/dL = µmol/L × 5.2, which puts the 11 µM protective threshold of the ATS/ERS statement
# on AATD (Am J Respir Crit Care Med 2003;168:818-900) at about 57 mg/dL. Some sources use
# 54 kDa instead (factor 0.184-0.185), and assays differ by calibrator, so a converted value
# is approximate: the UI should keep showing the unit the lab reported.
UMOL_PER_L_PER_MG_PER_DL = 10.0 / 52.0
MG_PER_DL_PER_UMOL_PER_L = 52.0 / 10.0

# Factor from each unit to mg/dL.
_TO_MG_PER_DL: dict[AatUnit, float] = {
    AatUnit.MG_PER_DL: 1.0,
    AatUnit.G_PER_L: 100.0,
    AatUnit.MG_PER_L: 0.1,
    AatUnit.UMOL_PER_L: MG_PER_DL_PER_UMOL_PER_L,
}

_AAT_ALIASES: dict[str, AatUnit] = {
    "mg/dl": AatUnit.MG_PER_DL,
    "g/l": AatUnit.G_PER_L,
    "mg/l": AatUnit.MG_PER_L,
    "umol/l": AatUnit.UMOL_PER_L,
    "um": AatUnit.UMOL_PER_L,
    "micromol/l": AatUnit.UMOL_PER_L,
}

_MICRO_SIGNS = ("\u00b5", "\u03bc")  # MICRO SIGN and GREEK SMALL LETTER MU look alike


def _unit_key(unit: str) -> str:
    key = unit.strip()
    for sign in _MICRO_SIGNS:
        key = key.replace(sign, "u")
    return "".join(key.split()).lower()


def aat_unit(unit: str | None) -> AatUnit:
    """The canonical AAT unit for what a lab wrote ("mg/dl", "µM", "umol/L", "g/L"...)."""
    if unit is None:
        raise UnitError("the AAT result has no unit")
    found = _AAT_ALIASES.get(_unit_key(unit))
    if found is None:
        raise UnitError(f"unknown unit for alpha-1 antitrypsin: {unit!r}")
    return found


def convert_aat(value: float, from_unit: str, to_unit: str) -> float:
    """Convert a serum AAT concentration between any two supported units."""
    source, target = aat_unit(from_unit), aat_unit(to_unit)
    return value * _TO_MG_PER_DL[source] / _TO_MG_PER_DL[target]


def aat_mg_per_dl(value: float, unit: str) -> float:
    return convert_aat(value, unit, AatUnit.MG_PER_DL)


def aat_umol_per_l(value: float, unit: str) -> float:
    return convert_aat(value, unit, AatUnit.UMOL_PER_L)


_VOLUME_TO_ML: dict[str, float] = {
    "l": 1000.0,
    "liter": 1000.0,
    "liters": 1000.0,
    "litre": 1000.0,
    "litres": 1000.0,
    "dl": 100.0,
    "ml": 1.0,
    "cc": 1.0,
    "cm3": 1.0,
}


def volume_ml(value: float, unit: str | None) -> float:
    """A lung volume (FEV1, FVC) in mL; spirometers report litres, some records mL."""
    if unit is None:
        raise UnitError("the volume has no unit")
    factor = _VOLUME_TO_ML.get(_unit_key(unit))
    if factor is None:
        raise UnitError(f"unknown unit for a lung volume: {unit!r}")
    return value * factor
