"""Specification of the AATD pack: which records it recognises and how it reads genotypes."""

from __future__ import annotations

import copy

import pytest
from hypothesis import given
from hypothesis import strategies as st

from phr_desktop.domain.aatd import AatdPack, Fev1Series, PackError
from phr_desktop.domain.codes import ICD10, ICD10_CM, LOINC, RXNORM, SNOMED
from phr_desktop.domain.records import Code, RecordKind
from phr_desktop.resources import load_json

PACK = AatdPack.from_mapping(load_json("valuesets", "aatd.json"))

BRANDS = ["Prolastin-C", "Aralast NP", "Zemaira", "Glassia"]


def loinc(code: str) -> tuple[Code, ...]:
    return (Code(LOINC, code),)


def snomed(code: str) -> tuple[Code, ...]:
    return (Code(SNOMED, code),)


# ---- the data file ----------------------------------------------------------------------


def test_every_value_set_names_its_source():
    data = load_json("valuesets", "aatd.json")
    for name, value_set in data["sets"].items():
        assert value_set["source"].strip(), name
    for section in ("genotypes", "augmentation", "encounters", "procedures"):
        assert data[section]["source"].strip(), section


def test_every_code_uses_a_system_uri_from_codes_module():
    known = {LOINC, SNOMED, ICD10, ICD10_CM, RXNORM}
    for value_set in load_json("valuesets", "aatd.json")["sets"].values():
        for entry in value_set["codes"]:
            assert entry["system"] in known
            assert entry["display"].strip()


def test_a_pack_missing_a_required_set_is_refused():
    data = copy.deepcopy(load_json("valuesets", "aatd.json"))
    del data["sets"]["fev1"]
    with pytest.raises(PackError, match="fev1"):
        AatdPack.from_mapping(data)


def test_malformed_pack_data_raises_pack_error_not_key_error():
    with pytest.raises(PackError):
        AatdPack.from_mapping({"sets": {}})


# ---- codes ------------------------------------------------------------------------------


@pytest.mark.parametrize("code", ["1825-9", "6771-0"])
def test_serum_aat_level_loinc_codes_are_aat_levels(code):
    assert PACK.is_aat_level(loinc(code))
    assert "aatd" in PACK.tags_for(RecordKind.LAB_RESULT, loinc(code), "AAT")


def test_a_code_from_another_system_with_the_same_value_is_not_an_aat_level():
    assert not PACK.is_aat_level((Code(SNOMED, "1825-9"),))


def test_aat_phenotype_test_is_tagged_aatd():
    assert "aatd" in PACK.tags_for(RecordKind.LAB_RESULT, loinc("32769-2"), "Phenotype")


@pytest.mark.parametrize("code", ["20150-9", "20157-4", "20155-8"])
def test_fev1_loinc_codes_are_fev1(code):
    assert PACK.is_fev1(loinc(code))
    assert PACK.tags_for(RecordKind.LAB_RESULT, loinc(code), "FEV1") == {"lung_function"}


def test_pre_and_post_bronchodilator_fev1_are_separate_series():
    assert PACK.fev1_series(loinc("20150-9")) is Fev1Series.UNSPECIFIED
    assert PACK.fev1_series(loinc("20157-4")) is Fev1Series.PRE_BRONCHODILATOR
    assert PACK.fev1_series(loinc("20155-8")) is Fev1Series.POST_BRONCHODILATOR
    assert PACK.fev1_series(loinc("19926-5")) is None


def test_fev1_percent_predicted_is_not_an_fev1_volume():
    assert PACK.is_fev1_percent_predicted(loinc("20152-5"))
    assert PACK.is_fev1_percent_predicted(snomed("313223002"))
    assert not PACK.is_fev1(loinc("20152-5"))
    assert not PACK.is_fev1_percent_predicted(loinc("19926-5"))


@pytest.mark.parametrize("code", ["19868-9", "19870-5", "19926-5", "19911-7"])
def test_fvc_ratio_and_dlco_are_lung_function(code):
    assert "lung_function" in PACK.tags_for(RecordKind.LAB_RESULT, loinc(code), "")


@pytest.mark.parametrize("code", ["1742-6", "1920-8", "2324-2", "1975-2", "1751-7", "6301-6"])
def test_liver_tests_are_tagged_liver(code):
    assert PACK.tags_for(RecordKind.LAB_RESULT, loinc(code), "") == {"liver"}


def test_transient_elastography_is_recognised_by_title():
    tags = PACK.tags_for(RecordKind.PROCEDURE, (), "Transient elastography (FibroScan)")
    assert "liver" in tags


@pytest.mark.parametrize("system", [ICD10_CM, ICD10, "urn:oid:2.16.840.1.113883.6.90"])
@pytest.mark.parametrize("code", ["E88.01", "E8801", "e88.01"])
def test_aatd_icd_code_matches_dotted_or_not_under_either_icd10_uri(system, code):
    assert PACK.is_aatd_diagnosis((Code(system, code),))


def test_aatd_snomed_code_is_an_aatd_diagnosis_and_tagged():
    assert PACK.is_aatd_diagnosis(snomed("30188007"))
    assert PACK.tags_for(RecordKind.PROBLEM, snomed("30188007"), "") == {"aatd"}


def test_who_icd10_e88_0_is_not_taken_for_aatd():
    assert not PACK.is_aatd_diagnosis((Code(ICD10, "E88.0"),))


def test_aatd_diagnosis_is_recognised_by_title_when_uncoded():
    assert PACK.is_aatd_diagnosis((), "Alpha-1-antitrypsin deficiency")
    assert not PACK.is_aatd_diagnosis((), "Alpha-1 antitrypsin level")


@pytest.mark.parametrize("code", ["J43", "J43.9", "J439", "J44.1", "J44.9", "J4489"])
@pytest.mark.parametrize("system", [ICD10_CM, ICD10])
def test_icd10_j43_and_j44_codes_are_copd(system, code):
    assert PACK.is_copd((Code(system, code),), "")


@pytest.mark.parametrize("code", ["J45.909", "J42", "J4"])
def test_asthma_and_chronic_bronchitis_unspecified_are_not_copd(code):
    assert not PACK.is_copd((Code(ICD10_CM, code),), "")


@pytest.mark.parametrize("code", ["13645005", "87433001", "68328006", "185086009"])
def test_snomed_copd_and_emphysema_concepts_are_copd(code):
    assert PACK.is_copd(snomed(code), "")
    assert "lung_function" in PACK.tags_for(RecordKind.PROBLEM, snomed(code), "")


def test_copd_is_recognised_by_title_but_subcutaneous_emphysema_is_not():
    assert PACK.is_copd((), "COPD with acute exacerbation")
    assert PACK.is_copd((), "Panlobular emphysema")
    assert not PACK.is_copd((), "Subcutaneous emphysema after chest drain")


def test_unrelated_records_get_no_tags():
    assert PACK.tags_for(RecordKind.LAB_RESULT, loinc("2345-7"), "Glucose") == frozenset()


def test_codes_without_system_or_code_are_ignored():
    assert PACK.tags_for(RecordKind.LAB_RESULT, (Code(None, None), Code(LOINC, None)), "") == set()


# ---- augmentation -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "brand"),
    [
        ("Prolastin-C 1000 mg IV", "Prolastin-C"),
        ("PROLASTIN-C LIQUID", "Prolastin-C"),
        ("prolastin", "Prolastin-C"),
        ("Aralast NP 1 g", "Aralast NP"),
        ("ARALAST", "Aralast NP"),
        ("Zemaira 4 g", "Zemaira"),
        ("zemaira", "Zemaira"),
        ("Glassia 1 g/50 mL", "Glassia"),
        ("GLASSIA", "Glassia"),
    ],
)
def test_every_augmentation_brand_is_recognised_by_name_case_insensitively(text, brand):
    assert PACK.augmentation_brand((), text) == brand


def test_each_of_the_four_brands_is_in_the_pack():
    # Guards against the old `'prolastin' || 'aralast'` bug that only ever matched one brand.
    found = {PACK.augmentation_brand((), name.lower()) for name in BRANDS}
    assert found == set(BRANDS)


def test_brand_is_found_in_a_coding_display_when_the_title_is_generic():
    codes = (
        Code(RXNORM, "999999", "alpha 1-proteinase inhibitor, human 1 MG Injection [Zemaira]"),
    )
    assert PACK.augmentation_brand(codes, "Augmentation infusion") == "Zemaira"


@pytest.mark.parametrize(
    "text",
    [
        "Alpha-1 proteinase inhibitor (human)",
        "alpha1-proteinase inhibitor",
        "Alpha-1 antitrypsin 60 mg/kg",
    ],
)
def test_generic_alpha1_proteinase_inhibitor_is_augmentation_without_a_brand(text):
    assert PACK.is_augmentation((), text)
    assert PACK.augmentation_brand((), text) is None
    assert PACK.tags_for(RecordKind.MEDICATION, (), text) >= {"augmentation", "aatd"}


def test_generic_rxnorm_ingredient_is_augmentation():
    assert PACK.is_augmentation((Code(RXNORM, "535"),), "")


def test_an_aat_level_lab_is_not_tagged_augmentation():
    tags = PACK.tags_for(RecordKind.LAB_RESULT, loinc("1825-9"), "Alpha-1 antitrypsin")
    assert "augmentation" not in tags
    assert "aatd" in tags


@pytest.mark.parametrize("brand", BRANDS)
def test_augmentation_medications_are_tagged_augmentation_and_aatd(brand):
    assert PACK.tags_for(RecordKind.MEDICATION, (), brand) == {"augmentation", "aatd"}


def test_other_drugs_are_not_augmentation():
    assert PACK.augmentation_brand((), "Tiotropium 18 mcg inhaler") is None
    assert not PACK.is_augmentation((Code(RXNORM, "1311"),), "Salbutamol")


# ---- genotypes --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "genotype"),
    [
        ("PiZZ", "Pi*ZZ"),
        ("Pi*ZZ", "Pi*ZZ"),
        ("PI ZZ", "Pi*ZZ"),
        ("pi-zz", "Pi*ZZ"),
        ("ZZ", "Pi*ZZ"),
        ("zz", "Pi*ZZ"),
        ("Z/Z", "Pi*ZZ"),
        ("Pi*SZ", "Pi*SZ"),
        ("ZS", "Pi*SZ"),
        ("PiMZ", "Pi*MZ"),
        ("MS", "Pi*MS"),
        ("SS", "Pi*SS"),
        ("MM", "Pi*MM"),
        ("PI*M1M2", "Pi*MM"),
        ("Pi*ZF", "Pi*FZ"),
        ("Z/Null", "Pi*Z/Null"),
        ("Pi*Z,Q0", "Pi*Z/Null"),
        ("Null/Null", "Pi*Null/Null"),
        ("QO QO", "Pi*Null/Null"),
        ("M-null", "Pi*M/Null"),
    ],
)
def test_genotypes_are_normalised_to_pi_star_notation(text, genotype):
    assert PACK.genotype_of(text) == genotype


@pytest.mark.parametrize(
    ("text", "genotype"),
    [
        ("Result: Pi*ZZ (severe deficiency)", "Pi*ZZ"),
        ("AAT phenotype MZ, intermediate", "Pi*MZ"),
        ("Heterozygous MS", "Pi*MS"),
        ("This is ZZ phenotype", "Pi*ZZ"),
    ],
)
def test_genotypes_are_found_inside_longer_results(text, genotype):
    assert PACK.genotype_of(text) == genotype


@pytest.mark.parametrize(
    "text", ["", "   ", None, "Z", "positive", "MS contin 30 mg", "IS", "Pi*MI"]
)
def test_text_without_a_recognised_genotype_gives_none(text):
    assert PACK.genotype_of(text) is None


def test_genotype_severity_follows_the_pack():
    assert PACK.genotype_severity("Pi*ZZ") == "severe"
    assert PACK.genotype_severity("Pi*MZ") == "intermediate"
    assert PACK.genotype_severity("Pi*MM") == "normal"


def test_a_lab_whose_value_is_an_explicit_pi_genotype_is_tagged_aatd():
    assert "aatd" in PACK.tags_for(RecordKind.LAB_RESULT, (), "Result", value_text="Pi*ZZ")


def test_a_bare_allele_pair_only_tags_aatd_on_an_aat_test():
    assert "aatd" not in PACK.tags_for(RecordKind.LAB_RESULT, (), "Blood group", value_text="MM")
    assert "aatd" in PACK.tags_for(RecordKind.LAB_RESULT, (), "Pi type", value_text="MM")


@given(st.text(max_size=40))
def test_genotype_of_never_raises_and_returns_a_recognised_genotype(text):
    found = PACK.genotype_of(text)
    assert found is None or PACK.genotype_severity(found) is not None


@given(
    st.sampled_from(["M", "S", "Z", "F", "Null", "Q0"]),
    st.sampled_from(["M", "S", "Z", "F", "Null", "QO"]),
    st.sampled_from(["", "Pi", "Pi*", "PI ", "pi-"]),
    st.sampled_from(["", "/", ",", " "]),
)
def test_allele_order_and_spelling_do_not_change_the_genotype(first, second, prefix, sep):
    forward = PACK.genotype_of(f"{prefix}{first}{sep}{second}")
    backward = PACK.genotype_of(f"{prefix}{second}{sep}{first}")
    assert forward == backward


@given(st.text(max_size=60), st.sampled_from(list(RecordKind)))
def test_tags_for_never_raises_and_only_uses_known_tags(title, kind):
    tags = PACK.tags_for(kind, (Code(LOINC, title[:8]),), title, value_text=title)
    assert tags <= {"aatd", "lung_function", "liver", "augmentation"}
