"""The AATD pack: recognises alpha-1 antitrypsin deficiency records from shipped value sets.

The value sets are data (`resources/valuesets/aatd.json`); this module only reads the parsed
mapping, so it stays pure and testable without files.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from functools import lru_cache
from typing import Any

from phr_desktop.domain.codes import ICD10_SYSTEMS, RXNORM, canonical_system
from phr_desktop.domain.records import Code, RecordKind

TAG_AATD = "aatd"
TAG_LUNG_FUNCTION = "lung_function"
TAG_LIVER = "liver"
TAG_AUGMENTATION = "augmentation"

_ICD10_FAMILY = "icd-10"
# Generic drug names ("alpha-1 antitrypsin") also name lab tests, so they only count here.
_TREATMENT_KINDS = frozenset({RecordKind.MEDICATION, RecordKind.PROCEDURE})


class PackError(ValueError):
    """The value-set data is malformed; a packaging bug, not something a patient can fix."""


class Fev1Series(StrEnum):
    """FEV1 results are only compared within one series: pre- and post-bronchodilator differ."""

    UNSPECIFIED = "unspecified"
    PRE_BRONCHODILATOR = "pre_bronchodilator"
    POST_BRONCHODILATOR = "post_bronchodilator"


@lru_cache(maxsize=8192)  # titles repeat across thousands of results; this is the hot path
def normalise_text(text: str | None) -> str:
    """Lower-case words joined by single spaces: "Alpha-1-Antitrypsin" -> "alpha 1 antitrypsin"."""
    if not text:
        return ""
    lowered = text.lower().replace("\u03b1", "alpha")
    return " ".join(re.sub(r"[^a-z0-9]+", " ", lowered).split())


def _has_phrase(normalised: str, phrase: str) -> bool:
    return bool(phrase) and f" {phrase} " in f" {normalised} "


def _code_key(system: str | None, code: str | None) -> tuple[str, str] | None:
    canonical = canonical_system(system)
    if canonical is None or not isinstance(code, str) or not code.strip():
        return None
    if canonical in ICD10_SYSTEMS:
        # ICD-10 and ICD-10-CM share their codes; sources write them dotted or not.
        return _ICD10_FAMILY, code.strip().upper().replace(".", "")
    return canonical, code.strip()


@dataclass(frozen=True)
class CodeSet:
    """One named value set: exact codes, code prefixes (ICD categories) and title keywords."""

    name: str
    tags: frozenset[str]
    exact: frozenset[tuple[str, str]]
    prefixes: tuple[tuple[str, str], ...] = ()
    keywords: tuple[str, ...] = ()
    exclude_keywords: tuple[str, ...] = ()

    def matches_codes(self, codes: Iterable[Code]) -> bool:
        for c in codes:
            key = _code_key(c.system, c.code)
            if key is None:
                continue
            if key in self.exact:
                return True
            if any(key[0] == s and key[1].startswith(p) for s, p in self.prefixes):
                return True
        return False

    def matches_title(self, title: str | None) -> bool:
        words = normalise_text(title)
        if not words:
            return False
        for phrase in self.exclude_keywords:
            words = f" {words} ".replace(f" {phrase} ", " ").strip()
        return any(_has_phrase(words, k) for k in self.keywords)

    def matches(self, codes: Iterable[Code], title: str | None) -> bool:
        return self.matches_codes(codes) or self.matches_title(title)


@dataclass(frozen=True)
class AugmentationBrand:
    name: str  # canonical brand, e.g. "Prolastin-C"
    patterns: tuple[str, ...]  # lower-case substrings of a drug name
    rxnorm: frozenset[str]


_REQUIRED_SETS = (
    "aat_level",
    "aat_phenotype",
    "aat_genotype",
    "aatd_diagnosis",
    "fev1",
    "fev1_percent_predicted",
    "spirometry_other",
    "dlco",
    "copd",
    "liver",
)


@dataclass(frozen=True)
class AatdPack:
    sets: Mapping[str, CodeSet]
    fev1_series_by_code: Mapping[tuple[str, str], Fev1Series]
    brands: tuple[AugmentationBrand, ...]
    generic_patterns: tuple[str, ...]
    generic_rxnorm: frozenset[str]
    genotypes: Mapping[str, str]  # canonical genotype -> "normal" | "intermediate" | "severe"
    allele_order: tuple[str, ...]
    null_synonyms: frozenset[str]
    inpatient_classes: frozenset[str]
    emergency_classes: frozenset[str]
    surgery_categories: frozenset[str]

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any]) -> AatdPack:
        """Build the pack from the parsed `aatd.json`; raises PackError if it is malformed."""
        try:
            return _build_pack(data)
        except PackError:
            raise
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise PackError(f"the AATD value sets are malformed: {exc!r}") from exc

    # ---- classification -------------------------------------------------------------

    def tags_for(
        self,
        kind: RecordKind,
        codes: tuple[Code, ...],
        title: str,
        value_text: str | None = None,
    ) -> frozenset[str]:
        tags: set[str] = set()
        for code_set in self.sets.values():
            if code_set.tags and code_set.matches(codes, title):
                tags |= code_set.tags
        if self.augmentation_brand(codes, title) is not None or (
            kind in _TREATMENT_KINDS and self.is_augmentation(codes, title)
        ):
            tags |= {TAG_AUGMENTATION, TAG_AATD}
        if kind is RecordKind.LAB_RESULT and value_text:
            parsed = self._parse_genotype(value_text)
            if parsed is not None and (parsed[1] or self._is_aat_test(codes, title)):
                tags.add(TAG_AATD)
        return frozenset(tags)

    def is_aat_level(self, codes: Iterable[Code]) -> bool:
        return self.sets["aat_level"].matches_codes(codes)

    def codes_of_set(self, name: str) -> list[str]:
        """The exact codes of a value set, for a narrow database read (ICD-10 ones undotted)."""
        return sorted({code for _, code in self.sets[name].exact})

    def is_fev1(self, codes: Iterable[Code]) -> bool:
        return self.sets["fev1"].matches_codes(codes)

    def fev1_series(self, codes: Iterable[Code]) -> Fev1Series | None:
        """Which FEV1 series a result belongs to; None when it is not an FEV1 result."""
        for c in codes:
            key = _code_key(c.system, c.code)
            if key is not None and key in self.fev1_series_by_code:
                return self.fev1_series_by_code[key]
        return None

    def is_fev1_percent_predicted(self, codes: Iterable[Code]) -> bool:
        return self.sets["fev1_percent_predicted"].matches_codes(codes)

    def is_aatd_diagnosis(self, codes: Iterable[Code], title: str | None = None) -> bool:
        return self.sets["aatd_diagnosis"].matches(codes, title)

    def is_copd(self, codes: Iterable[Code], title: str | None = None) -> bool:
        """COPD or emphysema, by code (ICD-10 J43/J44, SNOMED CT) or by title words."""
        return self.sets["copd"].matches(codes, title)

    def augmentation_brand(self, codes: Iterable[Code], text: str | None) -> str | None:
        """The canonical brand an augmentation record names (by RxNorm or by name), or None."""
        codes = tuple(codes)
        for c in codes:
            if canonical_system(c.system) == RXNORM and c.code:
                for brand in self.brands:
                    if c.code.strip() in brand.rxnorm:
                        return brand.name
        texts = [text or ""] + [c.display or "" for c in codes]
        haystack = " ".join(normalise_text(t) for t in texts)
        for brand in self.brands:
            if any(p in haystack for p in brand.patterns):
                return brand.name
        return None

    def is_augmentation(self, codes: Iterable[Code], text: str | None) -> bool:
        """An alpha-1 proteinase inhibitor, branded or generic. Callers decide which record
        kinds count: a generic name alone ("alpha-1 antitrypsin") also names the lab test."""
        codes = tuple(codes)
        if self.augmentation_brand(codes, text) is not None:
            return True
        for c in codes:
            if (
                canonical_system(c.system) == RXNORM
                and (c.code or "").strip() in self.generic_rxnorm
            ):
                return True
        texts = [text or ""] + [c.display or "" for c in codes]
        return any(_has_phrase(normalise_text(t), p) for t in texts for p in self.generic_patterns)

    def is_hospitalisation(self, category: str | None) -> bool:
        return self.is_inpatient(category) or self.is_emergency(category)

    def is_inpatient(self, category: str | None) -> bool:
        return (category or "").strip().upper() in self.inpatient_classes

    def is_emergency(self, category: str | None) -> bool:
        return (category or "").strip().upper() in self.emergency_classes

    def is_surgery(self, category: str | None) -> bool:
        return (category or "").strip().lower() in self.surgery_categories

    # ---- genotypes --------------------------------------------------------------------

    def genotype_of(self, value_text: str | None) -> str | None:
        """A recognised AAT genotype/phenotype as "Pi*ZZ", "Pi*MZ", "Pi*Z/Null"..., or None.

        Accepts "PiZZ", "Pi*ZZ", "PI ZZ", "Z/Z", "ZZ", "zz", "Pi*Z,Q0" and finds a Pi-prefixed
        result inside longer text; a bare pair inside longer text ("MS") only counts when
        the text also says phenotype, genotype or antitrypsin.
        """
        parsed = self._parse_genotype(value_text)
        return parsed[0] if parsed else None

    def genotype_severity(self, genotype: str) -> str | None:
        return self.genotypes.get(genotype)

    def _is_aat_test(self, codes: Iterable[Code], title: str | None) -> bool:
        codes = tuple(codes)
        names = ("aat_level", "aat_phenotype", "aat_genotype", "aatd_terms")
        if any(n in self.sets and self.sets[n].matches(codes, title) for n in names):
            return True
        words = normalise_text(title)
        return any(_has_phrase(words, w) for w in ("phenotype", "genotype", "pi type"))

    def _parse_genotype(self, value_text: str | None) -> tuple[str, bool] | None:
        """(canonical genotype, whether the text used the explicit "Pi" prefix)."""
        if not value_text or not value_text.strip():
            return None
        text = value_text.upper().replace("\u03b1", "A")
        allele = _allele_regex(self.null_synonyms)
        sep = r"\s*[/,\-]?\s*"
        prefix = r"PI\s*[*\-=:]?\s*"
        whole = re.fullmatch(rf"({prefix})?({allele}){sep}({allele})", text.strip(" .;:()[]"))
        if whole:
            return self._canonical(whole[2], whole[3], explicit=bool(whole[1]))
        edge_l, edge_r = r"(?<![A-Z0-9*])", r"(?![A-Z0-9])"
        for m in re.finditer(rf"{edge_l}{prefix}({allele}){sep}({allele}){edge_r}", text):
            found = self._canonical(m[1], m[2], explicit=True)
            if found:
                return found
        if re.search(r"PHENOTYPE|GENOTYPE|ANTITRYPSIN|ALLELE|HETEROZYG|HOMOZYG", text):
            for m in re.finditer(rf"{edge_l}({allele}){sep}({allele}){edge_r}", text):
                found = self._canonical(m[1], m[2], explicit=False)
                if found:
                    return found
        return None

    def _canonical(self, first: str, second: str, *, explicit: bool) -> tuple[str, bool] | None:
        alleles = sorted((self._allele(first), self._allele(second)), key=self.allele_order.index)
        if any(len(a) > 1 for a in alleles):
            genotype = "Pi*" + "/".join(alleles)
        else:
            genotype = "Pi*" + "".join(alleles)
        return (genotype, explicit) if genotype in self.genotypes else None

    def _allele(self, token: str) -> str:
        token = token.strip().upper()
        if token in self.null_synonyms:
            return "Null"
        return token[0]  # "M1", "M2"... are subtypes of M


def _allele_regex(null_synonyms: frozenset[str]) -> str:
    nulls = "|".join(sorted((re.escape(n) for n in null_synonyms), key=len, reverse=True))
    return rf"(?:{nulls}|M\d?|S|Z|F|I)" if nulls else r"(?:M\d?|S|Z|F|I)"


# ---- building the pack from data ---------------------------------------------------------


def _strings(values: object, what: str) -> tuple[str, ...]:
    if not isinstance(values, Sequence) or isinstance(values, str):
        raise PackError(f"{what} must be a list of strings")
    if not all(isinstance(v, str) for v in values):
        raise PackError(f"{what} must be a list of strings")
    return tuple(values)


def _code_set(
    name: str, raw: Mapping[str, Any]
) -> tuple[CodeSet, dict[tuple[str, str], Fev1Series]]:
    exact: set[tuple[str, str]] = set()
    prefixes: list[tuple[str, str]] = []
    series: dict[tuple[str, str], Fev1Series] = {}
    for entry in raw.get("codes", []):
        key = _code_key(entry["system"], entry["code"])
        if key is None:
            raise PackError(f"set {name!r} has an entry without system or code: {entry!r}")
        if entry.get("match", "exact") == "prefix":
            prefixes.append(key)
        else:
            exact.add(key)
        if "series" in entry:
            series[key] = Fev1Series(entry["series"])
    code_set = CodeSet(
        name=name,
        tags=frozenset(_strings(raw.get("tags", []), f"{name}.tags")),
        exact=frozenset(exact),
        prefixes=tuple(prefixes),
        keywords=tuple(normalise_text(k) for k in _strings(raw.get("keywords", []), name)),
        exclude_keywords=tuple(
            normalise_text(k) for k in _strings(raw.get("exclude_keywords", []), name)
        ),
    )
    return code_set, series


def _build_pack(data: Mapping[str, Any]) -> AatdPack:
    sets: dict[str, CodeSet] = {}
    series: dict[tuple[str, str], Fev1Series] = {}
    for name, raw in data["sets"].items():
        sets[name], found = _code_set(name, raw)
        series.update(found)
    missing = [n for n in _REQUIRED_SETS if n not in sets]
    if missing:
        raise PackError(f"the AATD value sets lack {', '.join(missing)}")

    aug = data["augmentation"]
    brands = tuple(
        AugmentationBrand(
            name=b["name"],
            patterns=tuple(normalise_text(p) for p in _strings(b["patterns"], b["name"])),
            rxnorm=frozenset(_strings(b.get("rxnorm", []), b["name"])),
        )
        for b in aug["brands"]
    )
    genotypes = data["genotypes"]
    recognised = dict(genotypes["recognised"])
    allele_order = _strings(genotypes["allele_order"], "genotypes.allele_order")
    encounters, procedures = data["encounters"], data["procedures"]
    return AatdPack(
        sets=sets,
        fev1_series_by_code=series,
        brands=brands,
        generic_patterns=tuple(
            normalise_text(p) for p in _strings(aug["generic_patterns"], "generic_patterns")
        ),
        generic_rxnorm=frozenset(str(e["code"]) for e in aug.get("generic_rxnorm", [])),
        genotypes=recognised,
        allele_order=allele_order,
        null_synonyms=frozenset(s.upper() for s in _strings(genotypes["null_synonyms"], "nulls")),
        inpatient_classes=frozenset(
            c.upper() for c in _strings(encounters["inpatient_classes"], "inpatient_classes")
        ),
        emergency_classes=frozenset(
            c.upper() for c in _strings(encounters["emergency_classes"], "emergency_classes")
        ),
        surgery_categories=frozenset(
            c.lower() for c in _strings(procedures["surgery_categories"], "surgery_categories")
        ),
    )
