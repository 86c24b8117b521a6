"""Is an incoming Patient the profile's person: tolerant of how EHRs write one person's name,
strict about what tells two people apart."""

from __future__ import annotations

from typing import Any

import pytest

from phr_desktop.domain.person_match import (
    Alias,
    Person,
    PersonName,
    ProfilePerson,
    Verdict,
    match_person,
    person_from_patient,
)

REBECCA = ProfilePerson(Person((PersonName(("Rebecca", "Jones"), "Larson"),), "1970-05-01"))


def _patient(given: list[str], family: str, birth: str | None, **extra: Any) -> dict[str, Any]:
    out: dict[str, Any] = {"resourceType": "Patient", "name": [{"given": given, "family": family}]}
    if birth:
        out["birthDate"] = birth
    return {**out, **extra}


def _verdict(profile: ProfilePerson, patient: dict[str, Any]) -> Verdict:
    return match_person(profile, person_from_patient(patient)).verdict


@pytest.mark.parametrize(
    "patient",
    [
        _patient(["REBECCA", "JONES"], "LARSON", "1970-05-01"),  # upper case (McKesson)
        _patient(["Rebecca"], "Larson", "1970-05-01"),  # no middle name
        _patient(["Rebecca", "J"], "Larson", "1970-05-01"),  # middle initial
        _patient(["Larson"], "Rebecca Jones", "1970-05-01"),  # given and family swapped
        {
            "resourceType": "Patient",
            "name": [{"text": "Larson, Rebecca Jones"}],
            "birthDate": "1970-05-01",
        },
        {
            "resourceType": "Patient",
            "name": [{"text": "Rebecca Jones Larson"}],
            "birthDate": "1970-05-01",
        },
        _patient(["Rébecca"], "Lârson", "1970-05-01"),  # diacritics
        _patient(["Rebecca", "Jones"], "Larson", "1970-05-01T00:00:00"),  # a dateTime
        _patient(["Rebecca"], "Larson", None),  # no birth date to compare
    ],
)
def test_the_same_person_as_different_ehrs_write_her_is_accepted(patient: dict[str, Any]) -> None:
    assert _verdict(REBECCA, patient) is Verdict.SAME


def test_a_different_family_name_with_the_same_birth_date_is_another_person() -> None:
    result = match_person(
        REBECCA, person_from_patient(_patient(["Alice", "Jones"], "Newman", "1970-05-01"))
    )
    assert result.verdict is Verdict.OTHER and "family name" in result.reason


def test_a_twin_with_another_first_name_is_another_person() -> None:
    profile = ProfilePerson(Person((PersonName(("Myra",), "Jones"),), "1947-05-01"))
    assert _verdict(profile, _patient(["Melissa"], "Jones", "1947-05-01")) is Verdict.OTHER


def test_another_birth_date_is_another_person_even_with_the_same_name() -> None:
    result = match_person(
        REBECCA, person_from_patient(_patient(["Rebecca"], "Larson", "1982-07-24"))
    )
    assert result.verdict is Verdict.OTHER and "1982-07-24" in result.reason


def test_the_same_name_with_a_birth_date_a_month_apart_is_a_close_call() -> None:
    result = match_person(
        REBECCA, person_from_patient(_patient(["Rebecca"], "Larson", "1970-06-01"))
    )
    assert result.verdict is Verdict.CLOSE_CALL
    assert "1970-05-01" in result.reason and "1970-06-01" in result.reason


def test_a_swapped_day_and_month_is_a_close_call() -> None:
    profile = ProfilePerson(Person((PersonName(("Ann",), "Lee"),), "1980-03-07"))
    assert _verdict(profile, _patient(["Ann"], "Lee", "1980-07-03")) is Verdict.CLOSE_CALL


def test_a_misspelt_name_with_the_same_birth_date_is_a_close_call() -> None:
    assert _verdict(REBECCA, _patient(["Rebeca"], "Larson", "1970-05-01")) is Verdict.CLOSE_CALL
    assert _verdict(REBECCA, _patient(["Rebecca"], "Larsen", "1970-05-01")) is Verdict.CLOSE_CALL


def test_a_confirmed_maiden_name_is_accepted_and_nothing_else_is() -> None:
    maiden = _patient(["Rebecca"], "Smith", "1970-05-01")
    assert _verdict(REBECCA, maiden) is Verdict.OTHER
    known = ProfilePerson(REBECCA.person, (Alias(PersonName(("Rebecca",), "Smith")),))
    assert _verdict(known, maiden) is Verdict.SAME
    assert _verdict(known, _patient(["Karen"], "Smith", "1970-05-01")) is Verdict.OTHER


def test_the_same_identifier_from_the_same_system_is_the_same_person() -> None:
    profile = ProfilePerson(
        Person((PersonName(("Rebecca",), "Larson"),), "1970-05-01", None, (("urn:mrn", "42"),))
    )
    renamed = _patient(
        ["Becky"], "Stone", "1970-05-01", identifier=[{"system": "urn:mrn", "value": "42"}]
    )
    assert _verdict(profile, renamed) is Verdict.SAME


def test_the_official_name_is_the_one_shown() -> None:
    person = person_from_patient(
        {
            "resourceType": "Patient",
            "name": [
                {"use": "nickname", "given": ["Becky"], "family": "Larson"},
                {"use": "official", "given": ["Rebecca", "Jones"], "family": "Larson"},
            ],
            "birthDate": "1970-05-01",
        }
    )
    assert person.display_name == "Rebecca Jones Larson"
    assert person.describe() == "Rebecca Jones Larson, born 1970-05-01"
