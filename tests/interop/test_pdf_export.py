"""The full-record PDF: readable text on every page, and nothing drawn off the page."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pypdfium2
import pytest
from pypdf import PdfReader

from phr_desktop.interop.pdf.charts import chart_trends
from phr_desktop.interop.pdf.export import SECTIONS, TRENDS_TITLE, write_record_pdf
from phr_desktop.interop.pdf.styles import esc
from phr_desktop.services.exporting import build_export_data
from phr_desktop.services.session import Session


@pytest.fixture
def record_pdf(session: Session, demo_files: list[Path], tmp_path: Path) -> Path:
    session.import_paths(demo_files)
    path = tmp_path / "record.pdf"
    write_record_pdf(build_export_data(session), path)
    return path


def test_every_page_names_the_patient_and_its_number(record_pdf: Path) -> None:
    pages = [p.extract_text() for p in PdfReader(record_pdf).pages]
    assert len(pages) > 5
    for number, text in enumerate(pages, start=1):
        assert "Margaret Ellen Doyle" in text
        assert f"Page {number} of {len(pages)}" in text


def test_record_has_cover_contents_sections_values_and_sources(record_pdf: Path) -> None:
    text = "\n".join(p.extract_text() for p in PdfReader(record_pdf).pages)
    assert "Personal health record" in text and "Contents" in text
    assert "2013-03-14 to 2025" in text  # the date range on the cover
    for title in (TRENDS_TITLE, "Problems and diagnoses", "Medications", "Allergies"):
        assert title in text
    assert "1.17" in text and "Alpha-1 antitrypsin" in text
    assert "Riverside Pulmonary (Epic)" in text and "Lakeside Hepatology (Cerner)" in text
    assert {t for _, t in SECTIONS} & set(text.splitlines())


def test_record_pages_render_with_nothing_outside_the_page(record_pdf: Path) -> None:
    pdf = pypdfium2.PdfDocument(str(record_pdf))
    for index in range(len(pdf)):
        image = pdf[index].render(scale=0.5).to_pil().convert("L")
        width, height = image.size
        edge = 8  # well inside the 1.8 cm margins: only ink that escaped the frame lands here
        for box in (
            (0, 0, width, edge),
            (0, height - edge, width, height),
            (0, 0, edge, height),
            (width - edge, 0, width, height),
        ):
            assert image.crop(box).getextrema()[0] > 240, f"ink at the edge of page {index + 1}"


def test_empty_profile_still_gives_a_readable_record(session: Session, tmp_path: Path) -> None:
    path = tmp_path / "empty.pdf"
    write_record_pdf(build_export_data(session), path)
    text = PdfReader(path).pages[0].extract_text()
    assert "no dated records" in text


def test_contents_gives_the_page_each_section_starts_on(record_pdf: Path) -> None:
    pages = [p.extract_text() for p in PdfReader(record_pdf).pages]
    listed = re.findall(r"^(.+?) [ .]+ (\d+)$", pages[1], flags=re.MULTILINE)
    assert [title for title, _ in listed][:2] == [TRENDS_TITLE, "Problems and diagnoses"]
    assert len(listed) >= 8
    for title, page in listed:
        assert title in pages[int(page) - 1].splitlines()


def test_every_lab_with_three_values_gets_a_chart_with_its_values(
    session: Session, demo_files: list[Path], tmp_path: Path
) -> None:
    session.import_paths(demo_files)
    data = build_export_data(session)
    trends = chart_trends([r.record for r in data.records], data.pack)
    assert trends[0].title == "Alpha-1 antitrypsin" and trends[1].title == "FEV1"
    path = tmp_path / "record.pdf"
    write_record_pdf(data, path)
    text = "\n".join(p.extract_text() for p in PdfReader(path).pages)
    charts = text[text.index(TRENDS_TITLE) : text.index("Problems and diagnoses\n")]
    for trend in trends:
        assert f"{len(trend.points)} results from" in charts and trend.title in charts
    assert "Protective level (11 µmol/L)" in charts  # the AAT chart's clinical line


def test_outline_and_contents_links_go_to_the_page_each_section_starts_on(
    record_pdf: Path,
) -> None:
    reader = PdfReader(record_pdf)
    pages = [p.extract_text() for p in reader.pages]
    listed = dict(re.findall(r"^(.+?) [ .]+ (\d+)$", pages[1], flags=re.MULTILINE))
    outline = {item.title: reader.get_destination_page_number(item) + 1 for item in reader.outline}
    assert outline == {title: int(page) for title, page in listed.items()}
    page_of = {page.indirect_reference.idnum: n for n, page in enumerate(reader.pages, start=1)}
    links = [a.get_object() for a in reader.pages[1].get("/Annots", [])]
    # A link's destination is [page, /Fit]: the page the contents line promises.
    targets = {str(link["/Contents"]): page_of[link["/Dest"][0].idnum] for link in links}
    assert targets == outline


def test_text_is_escaped_for_reportlab_paragraphs_as_xml_escape_does() -> None:
    assert esc("a < b & c > d") == "a &lt; b &amp; c &gt; d"
    assert esc("&amp;") == "&amp;amp;"
    assert esc(None) == "" and esc(3.5) == "3.5"


def test_loading_the_pdf_export_does_not_load_the_network_stack() -> None:
    """Every PDF export pays for what its modules import: xml.sax.saxutils brought urllib,
    http.client and email (~30 ms) for one escape function."""
    loaded = subprocess.run(
        [sys.executable, "-c", "import sys, phr_desktop.interop.pdf.export as m; "
         "print(sorted(n for n in ('urllib.request', 'http.client') if n in sys.modules))"],
        capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip
    assert loaded.strip() == "[]"
