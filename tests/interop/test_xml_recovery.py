"""Recovery from namespace faults only: every other fault is still refused, and recovery keeps
entities, DTDs and the network off."""

from __future__ import annotations

import pytest

from phr_desktop.interop.errors import UnreadableFile
from phr_desktop.interop.file_kinds import FileKind, detect, unwrap_html
from phr_desktop.interop.xml_safety import parse_xml_recovering

BAD_NAMESPACE = b'<r xmlns="urn:hl7-org:v3" xmlns:schemaLocation="urn:hl7-org:v3 CDA.xsd"><a/></r>'


def test_a_namespace_fault_alone_is_recovered_and_named() -> None:
    parsed = parse_xml_recovering(BAD_NAMESPACE, "x.xml")
    assert parsed.tree.getroot().tag == "{urn:hl7-org:v3}r"
    assert any("not a valid URI" in fault for fault in parsed.recovered)


def test_a_cut_off_document_with_a_namespace_fault_is_still_refused_for_the_cut() -> None:
    with pytest.raises(UnreadableFile) as refused:
        parse_xml_recovering(BAD_NAMESPACE[:-6], "x.xml")
    assert "URI" not in refused.value.reason


def test_entities_stay_refused_in_a_document_that_would_be_recovered() -> None:
    hostile = (
        b'<!DOCTYPE r [<!ENTITY e SYSTEM "file:///etc/passwd">]><r xmlns:s="not a uri">&e;</r>'
    )
    with pytest.raises(UnreadableFile, match="DTD or entities"):
        parse_xml_recovering(hostile, "x.xml")


@pytest.mark.parametrize(
    ("head", "kind"),
    [
        (b"\xef\xbb\xbf  <?xml version='1.0'?><ClinicalDocument xmlns='v3'>", FileKind.CCDA),
        (b"<!-- disclaimer -->\n<cda:ClinicalDocument xmlns:cda='urn:hl7-org:v3'>", FileKind.CCDA),
        (b'\n {"resourceType": "Bundle"}', FileKind.FHIR_JSON),
        (b"<section xmlns='urn:hl7-org:v3'/>", FileKind.XML),
        (b"<!DOCTYPE html><html><body>", FileKind.HTML),
        (b"%PDF-1.7", FileKind.PDF),
        (b"\xff\xd8\xff\xe0", FileKind.IMAGE),
        (b"PK\x03\x04", FileKind.ZIP),
        (b" \n", FileKind.EMPTY),
        (b"Patient: Jones", FileKind.UNKNOWN),
    ],
)  # fmt: skip
def test_the_kind_of_a_file_is_told_by_its_first_bytes(head: bytes, kind: FileKind) -> None:
    assert detect(head) is kind


def test_only_raw_markup_is_taken_out_of_a_web_page() -> None:
    raw = b"<html><script type='text/plain'>\n<ClinicalDocument><x/></ClinicalDocument>\n</script>"
    assert unwrap_html(raw) == b"<ClinicalDocument><x/></ClinicalDocument>"
    escaped = b"<html><pre>&lt;ClinicalDocument&gt;&lt;/ClinicalDocument&gt;</pre></html>"
    assert unwrap_html(escaped) is None
