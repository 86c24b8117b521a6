"""The normaliser remembers what it read of a concept by the concept's JSON text (issue 16):
a remembered reading must never stand for a different concept, and a concept that cannot be
written as JSON is still read."""

from __future__ import annotations

from phr_desktop.domain.codes import codes_and_display
from phr_desktop.domain.fhir_values import category_words
from phr_desktop.domain.normalise import normalise
from phr_desktop.domain.records import Code
from phr_desktop.vault.raw_json import ExactDecimal

LOINC = "http://loinc.org"


def _observation(category: object, code: object) -> dict[str, object]:
    return {
        "resourceType": "Observation",
        "id": "o1",
        "status": "final",
        "category": category,
        "code": code,
        "effectiveDateTime": "2020-01-02",
    }


def test_a_code_that_is_not_text_is_not_taken_for_the_same_code_as_text() -> None:
    as_text = {"coding": [{"system": LOINC, "code": "1"}]}
    as_number = {"coding": [{"system": LOINC, "code": 1}]}
    assert codes_and_display(as_text)[0] == (Code(LOINC, "1", None),)
    assert codes_and_display(as_number)[0] == (Code(LOINC, None, None),)
    assert codes_and_display(as_text)[0] == (Code(LOINC, "1", None),)


def test_a_concept_that_cannot_be_written_as_json_is_still_read() -> None:
    odd = {"coding": [{"system": LOINC, "code": "2-3", "version": ExactDecimal("1.50")}]}
    huge = {"coding": [{"system": LOINC, "code": "2-3", "version": 2**70}], "text": "Odd"}
    assert codes_and_display(odd) == ((Code(LOINC, "2-3", None),), "LOINC 2-3")
    assert codes_and_display(huge) == ((Code(LOINC, "2-3", None),), "Odd")
    assert category_words([{"text": "Lab", "extension": [ExactDecimal("1e400")]}]) == ("lab",)


def test_one_category_object_reads_like_a_list_of_one() -> None:
    concept = {"coding": [{"code": "Vital-Signs"}]}
    words = category_words(concept)
    assert words == category_words([concept])
    assert words[0] == "vital-signs"


def test_results_of_the_same_code_in_other_categories_are_told_apart() -> None:
    code = {"coding": [{"system": LOINC, "code": "8867-4", "display": "Heart rate"}]}
    vital = normalise(_observation([{"coding": [{"code": "vital-signs"}]}], code))
    survey = normalise(_observation([{"coding": [{"code": "survey"}]}], code))
    lab = normalise(_observation(None, code))
    assert vital and survey and lab
    assert (vital.kind, vital.category) == ("vital_sign", "vital-signs")
    assert (survey.kind, survey.category) == ("clinical_note", "survey")
    assert (lab.kind, lab.category) == ("lab_result", None)
    assert vital.codes is survey.codes is lab.codes  # one reading of the code, shared


def test_a_result_without_a_code_is_flagged_each_time() -> None:
    for _ in range(2):
        record = normalise(_observation([{"coding": [{"code": "laboratory"}]}], None))
        assert record is not None and record.quality == ("no code",)


def test_a_code_that_json_writes_as_null_is_not_taken_for_no_code() -> None:
    """orjson writes NaN as null: the remembered reading must not decide the 'no code' flag."""
    absent = normalise(_observation([{"coding": [{"code": "laboratory"}]}], None))
    odd = normalise(_observation([{"coding": [{"code": "laboratory"}]}], float("nan")))
    assert absent is not None and odd is not None
    assert absent.quality == ("no code",)
    assert odd.quality == ()
