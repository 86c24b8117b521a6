"""Names a patient can pick in the entry forms, with the codes filled in behind them.

A patient knows "Alpha-1 antitrypsin" or "Tiotropium", not LOINC 1825-9 or an RxNorm number.
Suggestions come from two places: the shipped value sets and AATD pack (the tests, conditions
and augmentation products this app knows, with plain names), and the patient's own record
(every test, medicine and condition a provider already sent, with the codes it sent).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from phr_desktop.domain.codes import LOINC
from phr_desktop.services.session import RecordFilter
from phr_desktop.services.terminology import aatd_pack

if TYPE_CHECKING:
    from phr_desktop.services.session import Session

RXNORM = "http://www.nlm.nih.gov/research/umls/rxnorm"
ICD10 = "http://hl7.org/fhir/sid/icd-10-cm"
SNOMED = "http://snomed.info/sct"


@dataclass(frozen=True)
class NamedCode:
    """What the form shows (`name`) and what it fills in behind (`codes`: system → code)."""

    name: str
    codes: tuple[tuple[str, str], ...] = ()
    unit: str | None = None  # for a test: the unit results usually come in

    def code(self, system: str) -> str | None:
        return next((c for s, c in self.codes if s == system), None)


# Plain names for the value sets' tests and conditions (their displays are LOINC's own).
_TESTS: tuple[NamedCode, ...] = (
    NamedCode("Alpha-1 antitrypsin (AAT) level", ((LOINC, "1825-9"),), "mg/dL"),
    NamedCode("Alpha-1 antitrypsin phenotype", ((LOINC, "32769-2"),)),
    NamedCode("ALT (alanine aminotransferase)", ((LOINC, "1742-6"),), "U/L"),
    NamedCode("AST (aspartate aminotransferase)", ((LOINC, "1920-8"),), "U/L"),
    NamedCode("GGT (gamma-glutamyl transferase)", ((LOINC, "2324-2"),), "U/L"),
    NamedCode("Alkaline phosphatase", ((LOINC, "6768-6"),), "U/L"),
    NamedCode("Bilirubin, total", ((LOINC, "1975-2"),), "mg/dL"),
    NamedCode("Albumin", ((LOINC, "1751-7"),), "g/dL"),
    NamedCode("FEV1 (breathing test)", ((LOINC, "20150-9"),), "L"),
    NamedCode("FEV1 % predicted", ((LOINC, "20152-5"),), "%"),
    NamedCode("FVC (breathing test)", ((LOINC, "19868-9"),), "L"),
    NamedCode("FEV1/FVC ratio", ((LOINC, "19926-5"),), "%"),
    NamedCode("DLCO (gas transfer)", ((LOINC, "19911-7"),)),
)
_CONDITIONS: tuple[NamedCode, ...] = (
    NamedCode("Alpha-1 antitrypsin deficiency", ((ICD10, "E88.01"), (SNOMED, "30188007"))),
    NamedCode("COPD (chronic obstructive pulmonary disease)", ((SNOMED, "13645005"),)),
    NamedCode("Emphysema", ((ICD10, "J43"), (SNOMED, "87433001"))),
    NamedCode("Chronic obstructive bronchitis", ((SNOMED, "185086009"),)),
)


def _from_record(session: Session, kind: str, systems: tuple[str, ...]) -> list[NamedCode]:
    """One suggestion per name the record already holds, with the codes its source gave."""
    found: dict[str, NamedCode] = {}
    for stored in session.records(RecordFilter(kinds=(kind,))):
        r = stored.record
        key = r.title.strip().lower()
        if not key or key in found:
            continue
        codes = tuple((c.system or "", c.code) for c in r.codes if c.code and c.system in systems)
        unit = r.value.unit if r.value is not None else None
        found[key] = NamedCode(r.title.strip(), codes, unit)
    return list(found.values())


def _merged(
    known: tuple[NamedCode, ...] | list[NamedCode], own: list[NamedCode]
) -> list[NamedCode]:
    names = {n.name.lower() for n in known}
    return sorted([*known, *(n for n in own if n.name.lower() not in names)],
                  key=lambda n: n.name.lower())  # fmt: skip


def test_names(session: Session) -> list[NamedCode]:
    return _merged(_TESTS, _from_record(session, "lab_result", (LOINC,)))


def condition_names(session: Session) -> list[NamedCode]:
    return _merged(_CONDITIONS, _from_record(session, "problem", (ICD10, SNOMED)))


def medicine_names(session: Session) -> list[NamedCode]:
    """The augmentation products by brand, then the medicines the record holds."""
    brands = [NamedCode(brand.name) for brand in aatd_pack().brands]
    return _merged(brands, _from_record(session, "medication", (RXNORM,)))


def find(names: list[NamedCode], typed: str) -> NamedCode | None:
    """The suggestion whose name is what was typed (any case), if any."""
    wanted = typed.strip().lower()
    return next((n for n in names if n.name.lower() == wanted), None)


def genotype_choices() -> list[str]:
    """The recognised AAT genotypes, the severe ones first (the usual reason to record one)."""
    order = {"severe": 0, "intermediate": 1, "normal": 2}
    genotypes = aatd_pack().genotypes
    return sorted(genotypes, key=lambda g: (order.get(genotypes[g], 3), g))
