"""The full record as a PDF: cover, contents, trend charts, then one section per record kind.

Every page carries the patient's name and "Page n of m"; every entry names its source system.
Table cells wrap, and very long text is cut, so nothing leaves the page. The record is laid
out once (see pages.py and table.py): a 13,000-entry record takes seconds, not a
minute.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterator
from functools import partial
from io import BytesIO
from itertools import repeat
from pathlib import Path
from typing import Any, BinaryIO

from reportlab.lib import colors
from reportlab.lib.pagesizes import A4
from reportlab.lib.units import cm
from reportlab.pdfgen.canvas import Canvas
from reportlab.platypus import (
    BaseDocTemplate,
    CondPageBreak,
    Flowable,
    Frame,
    KeepTogether,
    PageBreak,
    PageTemplate,
    Paragraph,
    Spacer,
    Table,
    TableStyle,
)

from phr_desktop.domain.records import RecordKind
from phr_desktop.interop.emergency.facts import NO_ALLERGY_INFORMATION, allergy_status
from phr_desktop.interop.export_data import ExportData, ShownRow
from phr_desktop.interop.pdf.charts import TrendChart, chart_trends_of_rows
from phr_desktop.interop.pdf.pages import Contents, ContentsSlot, RecordCanvas
from phr_desktop.interop.pdf.rows import RowCells
from phr_desktop.interop.pdf.styles import (
    ACCENT,
    FONT,
    FONT_BOLD,
    MUTED,
    RULE,
    ZEBRA,
    esc,
    number,
    register_fonts,
    style,
)
from phr_desktop.interop.pdf.table import (
    LaidRow,
    RecordTable,
    TableLayout,
    TableLook,
)

# Sections in the order a clinician reads them; kinds not listed are never exported here.
SECTIONS: tuple[tuple[RecordKind, str], ...] = (
    (RecordKind.PROBLEM, "Problems and diagnoses"),
    (RecordKind.ALLERGY, "Allergies and intolerances"),
    (RecordKind.MEDICATION, "Medications"),
    (RecordKind.LAB_RESULT, "Laboratory and test results"),
    (RecordKind.VITAL_SIGN, "Vital signs"),
    (RecordKind.IMAGING, "Imaging"),
    (RecordKind.PROCEDURE, "Procedures"),
    (RecordKind.IMMUNIZATION, "Immunizations"),
    (RecordKind.ENCOUNTER, "Visits and admissions"),
    (RecordKind.CLINICAL_NOTE, "Clinical notes"),
    (RecordKind.DOCUMENT, "Documents"),
)
TRENDS_TITLE = "Trends"

_MARGIN = 1.8 * cm
_PAGE_W, _PAGE_H = A4
_BODY_W = _PAGE_W - 2 * _MARGIN
_COLUMNS = (2.2 * cm, 5.6 * cm, 5.2 * cm, _BODY_W - 13.0 * cm)

H_TITLE = style("Title", 24, fontName=FONT_BOLD, leading=30, textColor=ACCENT, spaceAfter=6)
H_SECTION = style("Section", 15, fontName=FONT_BOLD, textColor=ACCENT, spaceAfter=8)
H_CONTENTS = style("Contents", 15, fontName=FONT_BOLD, textColor=ACCENT, spaceAfter=8)
H_SUB = style("Sub", 11, fontName=FONT_BOLD, spaceBefore=6, spaceAfter=4)
BODY = style("Body", 9.5)
CELL = style("Cell", 8)
CELL_MUTED = style("CellMuted", 7.5, textColor=MUTED)
CELL_HEAD = style("CellHead", 8, fontName=FONT_BOLD, textColor=colors.white)
COVER_LABEL = style("CoverLabel", 10, textColor=MUTED)
COVER_VALUE = style("CoverValue", 12)


_FURNITURE = "phr-page-furniture"


def _go_on() -> None:
    """Nothing asks the export to stop."""


class _RecordDoc(BaseDocTemplate):
    """Notes each section heading's page for the contents and the PDF outline."""

    def __init__(self, target: Any, data: ExportData, contents: Contents) -> None:
        super().__init__(
            target,
            pagesize=A4,
            leftMargin=_MARGIN,
            rightMargin=_MARGIN,
            topMargin=_MARGIN + 0.4 * cm,
            bottomMargin=_MARGIN,
            title=f"Health record: {data.patient_name}",
            author=data.patient_name,
            creator=f"phr-desktop {data.app_version}",
        )
        self.data = data
        self.contents = contents
        frame = Frame(self.leftMargin, self.bottomMargin, self.width, self.height, id="body")
        self.addPageTemplates([PageTemplate("page", [frame], onPage=self._decorate)])

    def afterFlowable(self, flowable: Flowable) -> None:
        if isinstance(flowable, Paragraph) and flowable.style.name == H_SECTION.name:
            text = flowable.getPlainText()
            key = Contents.key(len(self.contents.entries))
            self.canv.bookmarkPage(key)
            self.canv.addOutlineEntry(text, key, level=0)
            self.contents.entries.append((text, self.page, key))

    def _decorate(self, canv: Canvas, doc: BaseDocTemplate) -> None:
        # Drawn once as a form (a PDF XObject) that every page shows: hundreds of pages
        # would otherwise each format the same header and footer again.
        if not canv.hasForm(_FURNITURE):
            canv.beginForm(_FURNITURE)
            self._draw_furniture(canv)
            canv.endForm()
        canv.doForm(_FURNITURE)

    def _draw_furniture(self, canv: Canvas) -> None:
        canv.saveState()
        top = _PAGE_H - _MARGIN + 0.2 * cm
        canv.setFont(FONT_BOLD, 8.5)
        canv.setFillColor(ACCENT)
        canv.drawString(_MARGIN, top, self.data.patient_name)
        canv.setFont(FONT, 8)
        canv.setFillColor(MUTED)
        canv.drawRightString(_PAGE_W - _MARGIN, top, "Personal health record")
        canv.setStrokeColor(RULE)
        canv.setLineWidth(0.5)
        canv.line(_MARGIN, top - 4, _PAGE_W - _MARGIN, top - 4)
        bottom = _MARGIN - 0.7 * cm
        canv.line(_MARGIN, bottom + 10, _PAGE_W - _MARGIN, bottom + 10)
        canv.drawString(
            _MARGIN,
            bottom,
            f"Generated {self.data.generated_at[:10]} by phr-desktop {self.data.app_version}"
            " from the patient's own copy of their records",
        )
        canv.restoreState()


def write_record_pdf(data: ExportData, path: Path, between: Callable[[], None] = _go_on) -> None:
    """Write the record PDF to `path`; `between` is called before each page and each lab
    result is read, and may raise to stop (a cancelled export)."""
    # Our own file object, closed however the build ends (reportlab leaves a file it opened
    # itself open when writing fails, on a full disk say).
    with path.open("wb") as out:
        _build(data, out, between)


def record_pdf_bytes(data: ExportData) -> bytes:
    out = BytesIO()
    _build(data, out, _go_on)
    return out.getvalue()


class _Stopped(Exception):
    """`between` raised: carried out through reportlab, which re-creates the exceptions that
    pass through it with a message of its own (an exception taking no message breaks there)."""


def _build(data: ExportData, target: BinaryIO, between: Callable[[], None]) -> None:
    raised: list[Exception] = []

    def guarded() -> None:
        try:
            between()
        except Exception as error:
            raised.append(error)
            raise _Stopped from error

    register_fonts()
    contents = Contents(font=FONT, size=11, leading=18)
    doc = _RecordDoc(target, data, contents)
    canvas = partial(
        RecordCanvas,
        contents=contents,
        number_at=(_PAGE_W - _MARGIN, _MARGIN - 0.7 * cm, FONT, 8, MUTED),
        between=guarded,
    )
    try:
        doc.build(_story(data, contents, guarded), canvasmaker=canvas)
    except _Stopped:
        raise raised[0] from None


def _story(data: ExportData, contents: Contents, between: Callable[[], None]) -> list[Flowable]:
    """The record's flowables. Records are walked, never all held: each section's table reads
    its kind's records as it is laid out (a page of them at a time when the export reads them
    so), and the charts keep only their points."""
    look = TableLook(
        col_widths=_COLUMNS,
        font=FONT,
        header_font=FONT_BOLD,
        header_fill=ACCENT,
        zebra=ZEBRA,
        rule=RULE,
    )
    layout = TableLayout(look, _HEADER)  # one for every table: their cells repeat
    row_cells = RowCells(layout)
    # The lab results are read once: for the charts, which come first, and the rows of their
    # table, kept until the table takes them (a row is a few shared cells, not a record).
    lab_rows: deque[LaidRow] = deque()

    def lab_results() -> Iterator[ShownRow]:
        between()  # before the first page of results is read
        for row in data.shown_rows(RecordKind.LAB_RESULT.value, with_codes=True):
            between()
            lab_rows.append(row_cells(row))
            yield row

    trends = chart_trends_of_rows(lab_results(), data.pack)
    counts = {kind: data.count_of(kind.value) for kind, _ in SECTIONS}
    sections = [
        (kind, title) for kind, title in SECTIONS if counts[kind] or _always_shown(kind, data)
    ]
    story: list[Flowable] = [*_cover(data), PageBreak()]
    contents.titles = [TRENDS_TITLE] * bool(trends) + [title for _, title in sections]
    story += [Paragraph("Contents", H_CONTENTS), ContentsSlot(contents), PageBreak()]
    if trends:
        story.append(Paragraph(TRENDS_TITLE, H_SECTION))
        for trend in trends:
            unit = f" ({trend.unit})" if trend.unit else ""
            caption = (
                f"{len(trend.points)} results from {trend.points[0].date.text[:10]} to "
                f"{trend.points[-1].date.text[:10]}; latest "
                f"{number(round(trend.points[-1].value, 2))} {trend.unit or ''}"
            ).rstrip()
            story.append(
                KeepTogether(
                    [
                        Paragraph(esc(trend.title) + esc(unit), H_SUB),
                        Paragraph(esc(caption), CELL_MUTED),
                        TrendChart(trend, _BODY_W, _BODY_W * 2.5 / 6.6),
                        Spacer(1, 6),
                    ]
                )
            )
        story.append(PageBreak())
    for kind, title in sections:
        entries = counts[kind]
        story.append(Paragraph(esc(title), H_SECTION))
        if not entries:  # only Allergies: "none recorded" must not read as "none"
            since = f" since {data.since}" if data.since else ""
            story.append(Paragraph(esc(NO_ALLERGY_INFORMATION.capitalize() + since) + ".", BODY))
            story.append(Spacer(1, 0.8 * cm))
            continue
        story.append(Paragraph(f"{entries} {'entry' if entries == 1 else 'entries'}", CELL_MUTED))
        story.append(Spacer(1, 4))
        rows = _taken(lab_rows) if kind is RecordKind.LAB_RESULT else _rows(data, kind, row_cells)
        story.append(RecordTable(look, _HEADER, laid_rows=rows, layout=layout))
        story.append(Spacer(1, 0.8 * cm))
        story.append(CondPageBreak(6 * cm))  # a heading never sits alone at a page foot
    return story


def _rows(data: ExportData, kind: RecordKind, row_cells: RowCells) -> Iterator[LaidRow]:
    """A section's rows, read as its table is laid out (a map: no generator frame per row)."""
    if kind is RecordKind.ALLERGY:
        return map(row_cells, _allergy_rows(data))
    return map(row_cells, data.shown_rows(kind.value), repeat(kind in _TEXT_KINDS))


def _allergy_rows(data: ExportData) -> Iterator[ShownRow]:
    """The allergies, few, read whole: their status is told from their raw bodies."""
    for entry in data.of_kind(RecordKind.ALLERGY.value):
        yield ShownRow.of(entry, allergy_status(entry))


def _taken(rows: deque[LaidRow]) -> Iterator[LaidRow]:
    """The rows, each let go of as it is taken."""
    while rows:
        yield rows.popleft()


def _always_shown(kind: RecordKind, data: ExportData) -> bool:
    """Allergies get a section even when empty, saying no source told anything about them."""
    return kind is RecordKind.ALLERGY and (not data.kinds or RecordKind.ALLERGY.value in data.kinds)


def _cover(data: ExportData) -> list[Flowable]:
    patient = data.patient.raw if data.patient else {}
    first, last = data.date_span()
    span = (
        f"{first.sort_key[:10]} to {last.sort_key[:10]}" if first and last else "no dated records"
    )
    sources = data.source_systems()
    rows: list[tuple[str, str]] = [
        ("Patient", data.patient_name),
        ("Date of birth", str(patient.get("birthDate") or "not recorded")),
        ("Records from", span),
        ("Entries", str(len(data.records))),
        ("Source systems", ", ".join(sources) or "not recorded"),
        ("Generated", data.generated_at.replace("T", " ")),
    ]
    if data.since:
        rows.append(("Only records since", data.since))
    if data.kinds:
        rows.append(("Only these kinds", ", ".join(data.kinds)))
    table = Table(
        [[Paragraph(esc(k), COVER_LABEL), Paragraph(esc(v), COVER_VALUE)] for k, v in rows],
        colWidths=(4.2 * cm, _BODY_W - 4.2 * cm),
    )
    table.setStyle(
        TableStyle(
            [
                ("VALIGN", (0, 0), (-1, -1), "TOP"),
                ("LINEBELOW", (0, 0), (-1, -1), 0.4, RULE),
                ("TOPPADDING", (0, 0), (-1, -1), 6),
                ("BOTTOMPADDING", (0, 0), (-1, -1), 6),
            ]
        )
    )
    note = (
        "This document was produced by the patient from copies of their own health records "
        "(patient portals and files). Each entry names the system it came from. It is not a "
        "legal medical record; check anything important with the care team."
    )
    return [
        Spacer(1, 4 * cm),
        Paragraph("Personal health record", H_TITLE),
        Paragraph(esc(data.patient_name), style("CoverName", 16, leading=22, spaceAfter=24)),
        table,
        Spacer(1, 1.2 * cm),
        Paragraph(esc(note), style("CoverNote", 8.5, textColor=MUTED)),
    ]


_HEADER = ("Date", "Entry", "Result / details", "Source")
_TEXT_KINDS = (RecordKind.CLINICAL_NOTE, RecordKind.IMAGING, RecordKind.DOCUMENT)
