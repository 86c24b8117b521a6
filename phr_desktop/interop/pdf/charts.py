"""Trend charts for the record PDF: which tests get one, and each drawn as vector graphics.

Drawn straight onto the reportlab canvas: a matplotlib PNG per chart cost about 0.1 s each
(47 charts in a 13k-record vault) plus its import, where vectors cost a few milliseconds,
stay sharp at any zoom, and keep their labels as text.
"""

from __future__ import annotations

import math
import sys
from collections.abc import Iterable, Sequence

from reportlab.lib.colors import HexColor
from reportlab.pdfbase.pdfmetrics import stringWidth
from reportlab.platypus import Flowable

from phr_desktop.domain.aatd import AatdPack
from phr_desktop.domain.records import (
    Code,
    DatePrecision,
    PartialDate,
    Quantity,
    Record,
    RecordKind,
    ReferenceRange,
    record_from_fields,
)
from phr_desktop.domain.trends import Trend, build_trend, trend_key
from phr_desktop.interop.export_data import ShownRow
from phr_desktop.interop.pdf.styles import FONT, MUTED

MIN_POINTS_FOR_OTHER_LABS = 3
THRESHOLD_LABEL = "Protective level (11 µmol/L)"

_LINE = HexColor("#1d4e89")
_BAND = HexColor("#e4f0e8")  # the reference band, as matplotlib drew #d8eadf at 70 % on white
_THRESHOLD = HexColor("#b42318")
_GRID = HexColor("#e5e9ef")
_AXIS = HexColor("#5f6b7a")
_TICK_SIZE = 7.0


# What a trend reads of a lab result, kept for every result until the trends are built: a
# Record is several times its size, and a long record has hundreds of thousands of results.
# (resource type, title, date, precision, value, unit, value text, low, high, range text, codes)
_Result = tuple[
    str, str, str | None, str | None, float | None, str | None, str | None,
    float | None, float | None, str | None, tuple[Code, ...],
]  # fmt: skip
_KEYS_KEPT = 20_000  # trend keys remembered per code list; cleared when full


def chart_trends(records: Iterable[Record], pack: AatdPack) -> list[Trend]:
    """AAT level and FEV1 first (whenever they have a point), then any other lab result with
    at least three numeric values in one unit, by title."""
    return chart_trends_of_rows(
        (ShownRow.of_record(r) for r in records if r.kind is RecordKind.LAB_RESULT), pack
    )


def chart_trends_of_rows(rows: Iterable[ShownRow], pack: AatdPack) -> list[Trend]:
    """`chart_trends` of lab results read as table rows (with their codes)."""
    groups: dict[tuple[str, str], list[_Result]] = {}
    keys = _TrendKeys()
    for row in rows:
        title = sys.intern(row.title or "")
        groups.setdefault(keys.of(row.codes, title), []).append(
            (sys.intern(row.resource_type), title, row.effective, row.precision, row.value_num,
             row.unit, row.value_text, row.ref_low, row.ref_high, row.ref_text, row.codes)
        )  # fmt: skip
    aat: list[Trend] = []
    fev1: list[Trend] = []
    others: list[Trend] = []
    for results in groups.values():
        # The results of one test share a few code lists: each list's codes once.
        codes = [c for codes in {id(r[10]): r[10] for r in results}.values() for c in codes]
        charted = pack.is_aat_level(codes) or pack.is_fev1(codes)
        if not charted and _plotted_at_most(results) < MIN_POINTS_FOR_OTHER_LABS:
            continue  # too few values for a chart: no need to build its records
        group = [_result_record(result) for result in results]  # one test at a time
        trend = build_trend(group, pack)
        if not trend.points:
            continue
        if pack.is_aat_level(codes):
            aat.append(trend)
        elif pack.is_fev1(codes):
            fev1.append(trend)
        elif len(trend.points) >= MIN_POINTS_FOR_OTHER_LABS:
            others.append(trend)
    others.sort(key=lambda t: t.title.lower())
    return aat + fev1 + others


class _TrendKeys:
    """`trend_key` of each result, worked out once per code list: the results of one test
    share one code list object (the vault reads each distinct list once)."""

    def __init__(self) -> None:
        self._by_codes: dict[int, tuple[tuple[Code, ...], tuple[str, str] | None]] = {}

    def of(self, codes: tuple[Code, ...], title: str) -> tuple[str, str]:
        known = self._by_codes.get(id(codes))
        if known is None or known[0] is not codes:
            if len(self._by_codes) > _KEYS_KEPT:
                self._by_codes.clear()
            key = trend_key(Record("", "", RecordKind.LAB_RESULT, "", codes=codes))
            # Kept with its list, so the id is not reused; a key by title is the title's own.
            known = self._by_codes[id(codes)] = (codes, None if key[0] == "title" else key)
        return known[1] or trend_key(Record("", "", RecordKind.LAB_RESULT, title, codes=codes))


def _plotted_at_most(results: list[_Result]) -> int:
    """How many results could be a point (dated, with a finite number: see build_trend)."""
    return sum(1 for r in results if r[2] and r[4] is not None and math.isfinite(r[4]))


def _result_record(result: _Result) -> Record:
    """The lab result as a Record for build_trend, made from a dict of its fields in one step
    (record_from_fields): a long record charts tens of thousands of results, and the frozen
    dataclass's own constructor sets each of its 18 fields one by one."""
    rtype, title, effective, precision, num, unit, value_text, low, high, ref_text, codes = result
    return record_from_fields(
        {
            "resource_type": rtype,
            "resource_id": "",
            "kind": RecordKind.LAB_RESULT,
            "title": title,
            "effective": PartialDate(effective, _precision(precision)) if effective else None,
            "value": Quantity(num, unit, value_text)
            if num is not None or value_text is not None
            else None,
            "reference_range": ReferenceRange(low, high, ref_text)
            if low is not None or high is not None or ref_text
            else None,
            "codes": codes,
        }
    )


_PRECISIONS = {p.value: p for p in DatePrecision}


def _precision(text: str | None) -> DatePrecision:
    """DatePrecision(text), looked up without the enum's own call (one per charted result)."""
    return _PRECISIONS.get(text) or DatePrecision(str(text))  # type: ignore[arg-type]


def _as_year(d: PartialDate) -> float:
    """A plotting position in years: partial dates sit at the start of their month or year.

    Plain arithmetic, not datetime: a source's "2021-02-31" or year 0000 still gets a place.
    """
    day = int(d.day_text[8:10]) if d.day_text else 1
    return d.year + ((d.month or 1) - 1) / 12 + (day - 1) / 365.25


def nice_ticks(low: float, high: float, most: int = 6) -> list[float]:
    """Round tick values (1, 2, 2.5 or 5 times a power of ten) covering low..high."""
    span = high - low
    if span <= 0:
        return [low]
    raw = span / most
    power = 10 ** math.floor(math.log10(raw))
    step = next(m * power for m in (1, 2, 2.5, 5, 10) if m * power >= raw)
    first = math.ceil(low / step - 1e-9) * step
    count = math.floor((high - first) / step + 1e-9) + 1
    return [round(first + i * step, 10) for i in range(count)]


def _year_ticks(low: float, high: float) -> list[tuple[float, str]]:
    span = high - low
    if span >= 2:
        step = next((s for s in (1, 2, 5, 10, 20, 25, 50) if span / s <= 8), 0)
        step = step or int(nice_ticks(0, span, 7)[1])  # centuries: a bad date, but drawn
        first = math.ceil(low / step) * step
        return [(float(y), str(y)) for y in range(first, math.floor(high) + 1, step)]
    months = next(m for m in (1, 2, 3, 6, 12) if span * 12 / m <= 8)
    ticks = []
    month = math.ceil(low * 12)
    while month <= high * 12:
        if month % months == 0:
            ticks.append((month / 12, f"{month // 12}-{month % 12 + 1:02d}"))
        month += 1
    return ticks


def _tick_labels(values: Sequence[float]) -> list[str]:
    """Labels as short as they can be while still telling the ticks apart."""
    for digits in range(6, 16):
        labels = [f"{v:.{digits}g}" for v in values]
        if len(set(labels)) == len(labels):
            return labels
    return labels


class TrendChart(Flowable):
    """One trend: the values, the latest reference band, and any clinical line."""

    def __init__(self, trend: Trend, width: float, height: float) -> None:
        super().__init__()
        self.trend = trend
        self.width = width
        self.height = height

    def wrap(self, availWidth: float, availHeight: float) -> tuple[float, float]:
        return self.width, self.height

    def _legend(self) -> list[tuple[str, str]]:
        t = self.trend
        items: list[tuple[str, str]] = []
        if t.low is not None or t.high is not None:
            items.append(("band", "Reference range"))
        if t.threshold is not None:
            items.append(("threshold", THRESHOLD_LABEL))
        if items:
            items.append(("line", t.title))
        return items

    def draw(self) -> None:
        t = self.trend
        canv = self.canv
        xs = [_as_year(p.date) for p in t.points]
        ys = [p.value for p in t.points]
        legend = self._legend()
        # Y range: the values, the band and any clinical line, with a little air.
        lo_band = hi_band = None
        if t.low is not None or t.high is not None:
            lo_band = t.low if t.low is not None else min([*ys, 0.0])
            hi_band = t.high if t.high is not None else max(ys) * 1.1
        extent = [*ys, *(v for v in (lo_band, hi_band, t.threshold) if v is not None)]
        y_lo, y_hi = min(extent), max(extent)
        pad = (y_hi - y_lo) * 0.08 or abs(y_hi) * 0.1 or 1.0
        y_lo, y_hi = y_lo - pad, y_hi + pad
        y_ticks = nice_ticks(y_lo, y_hi)
        x_lo, x_hi = min(xs), max(xs)
        if x_hi - x_lo < 1 / 12:  # a lone point (or one day) would sit on an axis of no width
            x_lo, x_hi = math.floor(x_lo) - 1, math.floor(x_hi) + 2
        x_pad = (x_hi - x_lo) * 0.03
        x_lo, x_hi = x_lo - x_pad, x_hi + x_pad
        x_ticks = [(x, label) for x, label in _year_ticks(x_lo, x_hi) if x_lo <= x <= x_hi]

        y_labels = _tick_labels(y_ticks)
        label_w = max(stringWidth(label, FONT, _TICK_SIZE) for label in y_labels)
        left = label_w + 8
        bottom = 14 + (14 if legend else 0)
        top = 16  # room for the unit above the axis
        plot_w, plot_h = self.width - left - 4, self.height - bottom - top

        def px(x: float) -> float:
            return left + (x - x_lo) / (x_hi - x_lo) * plot_w

        def py(y: float) -> float:
            return bottom + (y - y_lo) / (y_hi - y_lo) * plot_h

        canv.saveState()
        if lo_band is not None and hi_band is not None:
            canv.setFillColor(_BAND)
            b0, b1 = py(max(lo_band, y_lo)), py(min(hi_band, y_hi))
            canv.rect(left, b0, plot_w, b1 - b0, stroke=0, fill=1)
        canv.setStrokeColor(_GRID)
        canv.setLineWidth(0.6)
        grid = [(left, py(v), left + plot_w, py(v)) for v in y_ticks]
        grid += [(px(x), bottom, px(x), bottom + plot_h) for x, _ in x_ticks]
        canv.lines(grid)
        canv.setStrokeColor(_AXIS)
        canv.setLineWidth(0.8)
        canv.lines([(left, bottom, left + plot_w, bottom), (left, bottom, left, bottom + plot_h)])
        canv.setFont(FONT, _TICK_SIZE)
        canv.setFillColor(MUTED)
        for v, label in zip(y_ticks, y_labels, strict=True):
            canv.drawRightString(left - 4, py(v) - 2.5, label)
        for x, label in x_ticks:  # centred on the tick, but never past the chart's edges
            half = stringWidth(label, FONT, _TICK_SIZE) / 2
            canv.drawCentredString(min(max(px(x), half), self.width - half), bottom - 10, label)
        if t.unit:
            canv.drawString(0, self.height - 8, _fit(t.unit, self.width / 2))
        if t.threshold is not None:
            canv.setStrokeColor(_THRESHOLD)
            canv.setLineWidth(1)
            canv.setDash(4, 2)
            canv.line(left, py(t.threshold), left + plot_w, py(t.threshold))
            canv.setDash()
        canv.setStrokeColor(_LINE)
        canv.setFillColor(_LINE)
        canv.setLineWidth(1.4)
        canv.setLineJoin(1)
        points = [f"{px(x):.2f} {py(y):.2f}" for x, y in zip(xs, ys, strict=True)]
        # The line and the dots as PDF path text: reportlab's path objects format each number
        # in pure Python and draw a circle as four curves. A dot is a zero-length segment with
        # a round cap, which every PDF viewer draws as a filled circle.
        if len(points) > 1:
            canv.addLiteral(f"{points[0]} m " + " ".join(f"{p} l" for p in points[1:]) + " S")
        canv.setLineCap(1)
        canv.setLineWidth(3.5)
        canv.addLiteral(" ".join(f"{p} m {p} l" for p in points) + " S")
        self._draw_legend(legend)
        canv.restoreState()

    def _draw_legend(self, legend: list[tuple[str, str]]) -> None:
        if not legend:
            return
        canv = self.canv
        canv.setFont(FONT, _TICK_SIZE)
        slot = self.width / len(legend)
        for n, (kind, label) in enumerate(legend):
            x, y = n * slot + 4, 3.0
            if kind == "band":
                canv.setFillColor(_BAND)
                canv.rect(x, y - 1, 14, 7, stroke=0, fill=1)
            elif kind == "threshold":
                canv.setStrokeColor(_THRESHOLD)
                canv.setLineWidth(1)
                canv.setDash(4, 2)
                canv.line(x, y + 2.5, x + 14, y + 2.5)
                canv.setDash()
            else:
                canv.setStrokeColor(_LINE)
                canv.setFillColor(_LINE)
                canv.setLineWidth(1.4)
                canv.line(x, y + 2.5, x + 14, y + 2.5)
                canv.circle(x + 7, y + 2.5, 1.75, stroke=0, fill=1)
            canv.setFillColor(MUTED)
            canv.drawString(x + 18, y, _fit(label, slot - 26))


def _fit(text: str, width: float) -> str:
    """The text, cut with "…" so it is at most `width` wide at the tick size."""
    if stringWidth(text, FONT, _TICK_SIZE) <= width:
        return text
    while text and stringWidth(text + "…", FONT, _TICK_SIZE) > width:
        text = text[:-1]
    return text.rstrip() + "…"
