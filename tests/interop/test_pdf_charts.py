"""Trend charts drawn as vectors: odd data still gives a readable chart inside its box."""

from __future__ import annotations

from io import BytesIO

import pypdfium2
import pytest
from pypdf import PdfReader
from reportlab.lib.pagesizes import A4
from reportlab.platypus import SimpleDocTemplate

from phr_desktop.domain.records import (
    Code,
    DatePrecision,
    PartialDate,
    Quantity,
    Record,
    RecordKind,
    ReferenceRange,
    parse_partial_date,
)
from phr_desktop.domain.trends import Trend, TrendPoint
from phr_desktop.interop.pdf.charts import (
    THRESHOLD_LABEL,
    TrendChart,
    _result_record,
    nice_ticks,
)
from phr_desktop.interop.pdf.styles import register_fonts


def _trend(values: list[tuple[str, float]], **band: float) -> Trend:
    points = []
    for i, (text, value) in enumerate(values):
        date = parse_partial_date(text)
        assert date is not None
        points.append(TrendPoint(date, value, i))
    return Trend("Alpha-1 antitrypsin", "mg/dL", tuple(points), **band)


def _chart_pdf(trend: Trend) -> bytes:
    register_fonts()
    out = BytesIO()
    doc = SimpleDocTemplate(out, pagesize=A4)
    doc.build([TrendChart(trend, doc.width, doc.width * 2.5 / 6.6)])
    return out.getvalue()


CASES = {
    "one point": _trend([("2020-05-01", 91.0)]),
    "same value": _trend([("2019", 57.0), ("2020-02", 57.0), ("2021-03-04", 57.0)]),
    "a bad century": _trend([("0001-01-01", 1.0), ("2024-01-01", 2.0), ("2025-01-01", 3.0)]),
    "tiny steps": _trend([("2024-01-01", 0.5), ("2024-01-02", 0.5000001), ("2024-02-31", 0.5)]),
    "band and line": _trend(
        [("2014-01-30", 22.0), ("2018-06-01", 80.0), ("2024-06-13", 91.0)],
        low=100.0,
        high=200.0,
        threshold=57.0,
    ),
}


@pytest.mark.parametrize("name", CASES)
def test_chart_stays_inside_its_box_and_labels_its_axes(name: str) -> None:
    trend = CASES[name]
    pdf = _chart_pdf(trend)
    text = PdfReader(BytesIO(pdf)).pages[0].extract_text()
    assert "mg/dL" in text
    assert any(str(year) in text for year in range(1, 2030))
    page = pypdfium2.PdfDocument(pdf)[0].render(scale=0.5).to_pil().convert("L")
    width, height = page.size
    for box in ((0, 0, width, 8), (0, height - 8, width, height), (width - 8, 0, width, height)):
        assert page.crop(box).getextrema()[0] > 240
    if trend.threshold is not None:
        assert THRESHOLD_LABEL in text and "Reference range" in text


def test_ticks_are_round_and_within_the_range() -> None:
    assert nice_ticks(0, 10) == [0, 2, 4, 6, 8, 10]
    assert nice_ticks(-3, 7) == [-2, 0, 2, 4, 6]
    ticks = nice_ticks(1.13, 2.07)
    assert ticks[0] >= 1.13 and ticks[-1] <= 2.07 and len(ticks) >= 3


@pytest.mark.parametrize(
    "result",
    [
        ("Observation", "AAT", "2024-03-05", "day", 91.0, "mg/dL", None, 90.0, 200.0, None, ()),
        ("Observation", "FEV1", "2024-03", "month", None, None, "low", None, None, "n/a", ()),
        ("DiagnosticReport", "Panel", None, None, None, None, None, None, 5.0, None, ()),
        ("Observation", "Odd", "2024-03-05T10:00:00Z", "instant", 0.0, "g", "0", 0.0, None, "", ()),
    ],
)
def test_a_charted_result_is_the_record_the_dataclass_would_build(result: tuple) -> None:
    """The trend of a long record builds its results' records the fast way; they must be
    the same records the frozen dataclass's constructor gives."""
    codes = (Code("http://loinc.org", "6771-8", "AAT"),)
    result = (*result[:10], codes)
    rtype, title, effective, precision, num, unit, text, low, high, ref_text, _ = result
    expected = Record(
        rtype, "", RecordKind.LAB_RESULT, title,
        effective=PartialDate(effective, DatePrecision(precision)) if effective else None,
        value=Quantity(num, unit, text) if num is not None or text is not None else None,
        reference_range=ReferenceRange(low, high, ref_text)
        if low is not None or high is not None or ref_text else None,
        codes=codes,
    )  # fmt: skip
    assert _result_record(result) == expected
