"""The record PDF's long tables: every row on some page, none split, nothing off the page."""

from __future__ import annotations

from io import BytesIO

import pypdfium2
from hypothesis import given, settings
from hypothesis import strategies as st
from pypdf import PdfReader
from reportlab.lib.colors import HexColor
from reportlab.lib.pagesizes import A4
from reportlab.lib.units import cm
from reportlab.platypus import SimpleDocTemplate

from phr_desktop.interop.pdf.styles import FONT, FONT_BOLD, register_fonts
from phr_desktop.interop.pdf.table import SHORTENED, Cell, RecordTable, TableLayout, TableLook

COLUMNS = (2.2 * cm, 5.2 * cm, 4.6 * cm, 3.4 * cm)  # within SimpleDocTemplate's frame
HEADER = ("Date", "Entry", "Result / details", "Source")


def _look() -> TableLook:
    return TableLook(
        col_widths=COLUMNS,
        font=FONT,
        header_font=FONT_BOLD,
        header_fill=HexColor("#1d4e89"),
        zebra=HexColor("#f3f6f9"),
        rule=HexColor("#c9d2dc"),
    )


def _cell(*paragraphs: str, font: str = FONT) -> Cell:
    return tuple(((p, font, "#1f2933"),) for p in paragraphs)


def _pdf(rows: list[list[Cell]]) -> bytes:
    register_fonts()
    out = BytesIO()
    doc = SimpleDocTemplate(out, pagesize=A4)
    doc.build([RecordTable(_look(), HEADER, rows)])
    return out.getvalue()


def _pages(pdf: bytes) -> list[str]:
    return [page.extract_text() for page in PdfReader(BytesIO(pdf)).pages]


def _ink_at_edges(pdf: bytes) -> list[int]:
    document = pypdfium2.PdfDocument(pdf)
    inked = []
    for index in range(len(document)):
        image = document[index].render(scale=0.5).to_pil().convert("L")
        width, height = image.size
        for box in (
            (0, 0, width, 8),
            (0, height - 8, width, height),
            (width - 8, 0, width, height),
        ):
            if image.crop(box).getextrema()[0] <= 240:
                inked.append(index + 1)
    return inked


def test_a_long_table_keeps_every_row_once_with_the_header_on_every_page() -> None:
    rows = [
        [_cell("2020-01-01"), _cell(f"Entry {n:04d} (final)", font=FONT_BOLD), _cell("—"),
         _cell("Riverside Pulmonary (Epic)")]
        for n in range(400)
    ]  # fmt: skip
    pages = _pages(_pdf(rows))
    assert len(pages) > 5
    text = "\n".join(pages)
    for n in range(400):
        assert text.count(f"Entry {n:04d} (final)") == 1
    for page in pages:
        assert "Date Entry Result / details Source" in page


def test_a_row_taller_than_a_page_is_shortened_and_stays_on_the_page() -> None:
    notes = [f"My note {n}: the inhaler ran out again" for n in range(200)]
    rows = [[_cell("2020-01-01"), _cell("Office visit", *notes), _cell("—"), _cell("Epic")]]
    pdf = _pdf(rows)
    text = "\n".join(_pages(pdf))
    assert "My note 0:" in text and SHORTENED.strip("… ") in text
    assert _ink_at_edges(pdf) == []


def test_a_word_wider_than_its_column_breaks_inside_the_column() -> None:
    token = "NOSPACES" * 40
    rows = [[_cell("2020-01-01"), _cell(token), _cell(token), _cell(token)]]
    pdf = _pdf(rows)
    assert "".join("".join(_pages(pdf)).split()).count(token) == 3
    assert _ink_at_edges(pdf) == []


_FACES = st.sampled_from([(FONT, "#1f2933"), (FONT_BOLD, "#1f2933"), (FONT, "#5f6b7a")])
_WORDS = st.lists(st.text(alphabet="abcXYZ019.,()–µ", min_size=1, max_size=12), max_size=5)


@settings(max_examples=300, deadline=None)
@given(
    runs=st.lists(st.tuples(_WORDS, _FACES, st.booleans()), min_size=1, max_size=4),
    width=st.floats(min_value=20, max_value=200),
)
def test_a_cell_that_fits_on_one_line_is_laid_out_as_the_word_wrap_lays_it_out(
    runs: list[tuple[list[str], tuple[str, str], bool]], width: float
) -> None:
    register_fonts()
    layout = TableLayout(_look(), HEADER)
    paragraph = tuple(
        ((" " if spaced and n else "") + " ".join(words), font, color)
        for n, (words, (font, color), spaced) in enumerate(runs)
    )
    one_line = layout._on_one_line(paragraph, width)
    if one_line is None:
        return  # left to the word wrap
    wrapped = layout._word_wrap(paragraph, width)
    # What is drawn: where each line starts, and its runs' text, font and colour in order.
    assert [(line[0][0], [r[1:] for r in line]) for line in one_line] == [
        (line[0][0], [r[1:] for r in line]) for line in wrapped
    ]


def test_remembered_cells_still_print_each_records_own_value() -> None:
    from phr_desktop.domain.records import DatePrecision, PartialDate, Quantity, Record, RecordKind
    from phr_desktop.interop.export_data import ExportRecord, ShownRow
    from phr_desktop.interop.pdf.rows import RowCells

    def lab(value: float, unit: str) -> ShownRow:
        record = Record(
            "Observation", "x", RecordKind.LAB_RESULT, "Glucose",
            effective=PartialDate("2020-01-01", DatePrecision.DAY),
            value=Quantity(value, unit), source_system="Epic",
        )  # fmt: skip
        return ShownRow.of(ExportRecord(1, record, b"{}"))

    register_fonts()
    cells = RowCells(TableLayout(_look(), HEADER))
    shown = [cells(lab(v, u))[0][2].lines[0] for v, u in [(5.5, "mg/dL"), (0.0, "mg/dL"),
             (-0.0, "mg/dL"), (5.5, "mmol/L"), (5.5, "mg/dL")]]  # fmt: skip
    assert ["".join(run[1] for run in line) for line in shown] == [
        "5.5 mg/dL", "0 mg/dL", "-0 mg/dL", "5.5 mmol/L", "5.5 mg/dL"
    ]  # fmt: skip
