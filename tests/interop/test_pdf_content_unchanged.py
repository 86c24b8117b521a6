"""The full-record PDF of the demo profile says exactly what it said before its layout was made
faster: the same text on the same pages, and the same outline.

The reference text was extracted (pypdf) from the PDF written by the code before the PDF export
was streamed and drawn row by row (see tests/data/pdf_export/README.md). Regenerate it only for
a change of content that is meant: run this test once with PHR_UPDATE_PDF_TEXT=1.
"""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path

import pytest
from pypdf import PdfReader

from phr_desktop.interop.pdf.export import write_record_pdf
from phr_desktop.services.exporting import build_export_data
from phr_desktop.services.session import Session

REFERENCE = Path(__file__).parents[1] / "data" / "pdf_export" / "demo_record_text.txt"
PAGE_BREAK = "\n=== page break ===\n"


def _outline_titles(reader: PdfReader) -> list[str]:
    titles: list[str] = []
    for item in reader.outline:
        assert not isinstance(item, list), "the record's outline is one level deep"
        titles.append(f"{item.title} -> page {reader.get_destination_page_number(item) + 1}")
    return titles


def _demo_record_text(
    session: Session, demo_files: list[Path], tmp_path: Path, *, read: str
) -> str:
    session.import_paths(demo_files)
    records = session.records()
    session.add_note(records[0].id, "Felt well that day.")
    session.add_note(records[len(records) // 2].id, "Asked about this at the next visit.")
    # A fixed time of writing: the cover and every footer name it.
    data = dataclasses.replace(
        build_export_data(session, walked=read == "walked", by_section=read == "by_section"),
        generated_at="2026-01-02T03:04:05+00:00",
    )
    path = tmp_path / "record.pdf"
    write_record_pdf(data, path)
    reader = PdfReader(path)
    pages = [page.extract_text() for page in reader.pages]
    return PAGE_BREAK.join([*pages, "\n".join(_outline_titles(reader))]) + "\n"


# by_section: counted by kind, each section's rows read narrowly (as `phr export` does);
# walked: read a page at a time as the export walks them; gathered: all read up front (as
# the share viewer's PDF does).
@pytest.mark.parametrize("read", ["by_section", "walked", "gathered"])
def test_the_demo_record_pdf_has_the_same_text_pages_and_outline_as_before(
    session: Session, demo_files: list[Path], tmp_path: Path, read: str
) -> None:
    text = _demo_record_text(session, demo_files, tmp_path, read=read)
    if os.environ.get("PHR_UPDATE_PDF_TEXT"):
        REFERENCE.write_text(text, encoding="utf-8")
        pytest.fail("reference text rewritten; run again without PHR_UPDATE_PDF_TEXT")
    expected = REFERENCE.read_text(encoding="utf-8")
    got_pages, expected_pages = text.split(PAGE_BREAK), expected.split(PAGE_BREAK)
    assert len(got_pages) == len(expected_pages), "the record has a different number of pages"
    for number, (got, want) in enumerate(zip(got_pages, expected_pages, strict=True), start=1):
        assert got == want, f"page {number} (the last is the outline) differs"
