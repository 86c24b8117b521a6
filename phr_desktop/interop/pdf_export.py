"""The full record as a PDF: cover, contents, trend charts, then one section per record kind.

Every page carries the patient's name and "Page n of m"; every entry names its source system.
Table cells are Paragraphs so long text wraps, and very long text is cut, so nothing leaves
the page.
"""

from __future__ import annotations

from collections.abc import Sequence
from io import BytesIO
from pathlib import Path
from typing import Any

from reportlab.lib import colors
from reportlab.lib.pagesizes import A4
from reportlab.lib.units import cm
from reportlab.pdfgen.canvas import Canvas
from reportlab.platypus import (
    BaseDocTemplate,
    CondPageBreak,
    Flowable,
    Frame,
    Image,
    KeepTogether,
    PageBreak,
    PageTemplate,
    Paragraph,
    Spacer,
    Table,
    TableStyle,
)
from reportlab.platypus.tableofcontents import TableOfContents

from phr_desktop.domain.records import Record, RecordKind
from phr_desktop.interop.export_data import ExportData, ExportRecord
from phr_desktop.interop.pdf_charts import chart_trends, trend_png
from phr_desktop.interop.pdf_styles import (
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
MAX_CELL_CHARS = 900  # a table row cannot split across pages, so a cell must stay short

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


class _RecordDoc(BaseDocTemplate):
    """Feeds section headings to the table of contents and the PDF outline."""

    def __init__(self, target: Any, data: ExportData) -> None:
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
        frame = Frame(self.leftMargin, self.bottomMargin, self.width, self.height, id="body")
        self.addPageTemplates([PageTemplate("page", [frame], onPage=self._decorate)])

    def afterFlowable(self, flowable: Flowable) -> None:
        if isinstance(flowable, Paragraph) and flowable.style.name == H_SECTION.name:
            text = flowable.getPlainText()
            key = f"section-{self.seq.nextf('section')}"
            self.canv.bookmarkPage(key)
            self.canv.addOutlineEntry(text, key, level=0)
            self.notify("TOCEntry", (0, text, self.page, key))

    def _decorate(self, canv: Canvas, doc: BaseDocTemplate) -> None:
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


class _NumberedCanvas(Canvas):
    """Writes "Page n of m" once the page count is known (after the last page)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._pages: list[dict[str, Any]] = []

    def showPage(self) -> None:
        self._pages.append(dict(self.__dict__))
        self._startPage()

    def save(self) -> None:
        total = len(self._pages)
        for state in self._pages:
            self.__dict__.update(state)
            self.setFont(FONT, 8)
            self.setFillColor(MUTED)
            self.drawRightString(
                _PAGE_W - _MARGIN, _MARGIN - 0.7 * cm, f"Page {self._pageNumber} of {total}"
            )
            super().showPage()
        super().save()


def write_record_pdf(data: ExportData, path: Path) -> None:
    path.write_bytes(record_pdf_bytes(data))


def record_pdf_bytes(data: ExportData) -> bytes:
    register_fonts()
    out = BytesIO()
    doc = _RecordDoc(out, data)
    doc.multiBuild(_story(data), canvasmaker=_NumberedCanvas)
    return out.getvalue()


def _story(data: ExportData) -> list[Flowable]:
    story: list[Flowable] = [*_cover(data), PageBreak()]
    toc = TableOfContents(dotsMinLevel=0)
    toc.levelStyles = [style("TocLevel0", 11, leftIndent=10, firstLineIndent=-10, leading=18)]
    story += [Paragraph("Contents", H_CONTENTS), toc, PageBreak()]
    records = [r.record for r in data.records]
    trends = chart_trends(records, data.pack)
    if trends:
        story.append(Paragraph(TRENDS_TITLE, H_SECTION))
        for trend in trends:
            png = trend_png(trend)
            image = Image(BytesIO(png), width=_BODY_W, height=_BODY_W * 2.5 / 6.6)
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
                        image,
                        Spacer(1, 6),
                    ]
                )
            )
        story.append(PageBreak())
    for kind, title in SECTIONS:
        entries = [r for r in data.records if r.record.kind is kind]
        if not entries:
            continue
        story.append(Paragraph(esc(title), H_SECTION))
        story.append(
            Paragraph(f"{len(entries)} {'entry' if len(entries) == 1 else 'entries'}", CELL_MUTED)
        )
        story.append(Spacer(1, 4))
        story.append(_entries_table(entries))
        story.append(Spacer(1, 0.8 * cm))
        story.append(CondPageBreak(6 * cm))  # a heading never sits alone at a page foot
    return story


def _cover(data: ExportData) -> list[Flowable]:
    patient = data.patient.raw if data.patient else {}
    dates = sorted(r.record.effective.sort_key for r in data.records if r.record.effective)
    span = f"{dates[0][:10]} to {dates[-1][:10]}" if dates else "no dated records"
    sources = sorted({r.record.source_system for r in data.records if r.record.source_system})
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


def _entries_table(entries: Sequence[ExportRecord]) -> Table:
    head = [Paragraph(h, CELL_HEAD) for h in ("Date", "Entry", "Result / details", "Source")]
    rows: list[list[Any]] = [head]
    for entry in entries:
        r = entry.record
        rows.append(
            [
                Paragraph(esc(_date_text(r)), CELL),
                _entry_cell(entry),
                Paragraph(_detail_text(r), CELL),
                _source_cell(r),
            ]
        )
    table = Table(rows, colWidths=_COLUMNS, repeatRows=1)
    commands: list[tuple[Any, ...]] = [
        ("BACKGROUND", (0, 0), (-1, 0), ACCENT),
        ("VALIGN", (0, 0), (-1, -1), "TOP"),
        ("LINEBELOW", (0, 1), (-1, -1), 0.3, RULE),
        ("TOPPADDING", (0, 0), (-1, -1), 3),
        ("BOTTOMPADDING", (0, 0), (-1, -1), 3),
        ("LEFTPADDING", (0, 0), (-1, -1), 4),
        ("RIGHTPADDING", (0, 0), (-1, -1), 4),
    ]
    commands += [("BACKGROUND", (0, i), (-1, i), ZEBRA) for i in range(2, len(rows), 2)]
    table.setStyle(TableStyle(commands))
    return table


def _date_text(r: Record) -> str:
    if r.effective is None:
        return "no date"
    return r.effective.day_text or r.effective.text


def _cut(text: str, limit: int = MAX_CELL_CHARS) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "… (shortened; see app)"


def _entry_cell(entry: ExportRecord) -> Paragraph:
    r = entry.record
    head = f"<b>{esc(_cut(r.title or 'Untitled', 300))}</b>"
    if r.status:
        head += f' <font color="#5f6b7a">({esc(r.status)})</font>'
    parts = [head]
    for note in entry.notes:
        parts.append(f"<i>My note: {esc(_cut(note, 400))}</i>")
    if r.quality:
        parts.append(f'<font color="#b42318">Data quality: {esc(", ".join(r.quality))}</font>')
    return Paragraph("<br/>".join(parts), CELL)


def _detail_text(r: Record) -> str:
    bits: list[str] = []
    value = r.value
    if value is not None and value.value is not None:
        bits.append(f"<b>{esc(number(value.value))}</b> {esc(value.unit or '')}".rstrip())
    elif value is not None and value.text:
        bits.append(esc(_cut(value.text, 500)))
    rr = r.reference_range
    if rr is not None:
        if rr.text:
            bits.append(f"Reference: {esc(rr.text)}")
        elif rr.low is not None or rr.high is not None:
            low = number(rr.low) if rr.low is not None else ""
            high = number(rr.high) if rr.high is not None else ""
            bits.append(f"Reference: {esc(low)}–{esc(high)}")
    if r.interpretation:
        bits.append(f"Flag: {esc(r.interpretation)}")
    if r.kind in (RecordKind.CLINICAL_NOTE, RecordKind.IMAGING, RecordKind.DOCUMENT) and r.text:
        shown = " ".join(r.text.split())
        if not (value and value.text and value.text in shown and len(shown) < 40):
            bits.append(esc(_cut(shown)))
    return "<br/>".join(bits) if bits else '<font color="#5f6b7a">—</font>'


def _source_cell(r: Record) -> Paragraph:
    parts = [esc(r.source_system or "source not recorded")]
    if r.facility and r.facility != r.source_system:
        parts.append(f'<font color="#5f6b7a">{esc(r.facility)}</font>')
    return Paragraph("<br/>".join(parts), CELL)
