"""Trend charts for the record PDF: which tests get one, and each drawn to PNG bytes (Agg).

Uses matplotlib's object API with the Agg canvas, never pyplot or Qt, so it is thread-safe
enough for a worker thread and needs no display.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from datetime import date

from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.dates import AutoDateLocator, ConciseDateFormatter, date2num
from matplotlib.figure import Figure

from phr_desktop.domain.aatd import AatdPack
from phr_desktop.domain.records import PartialDate, Record, RecordKind
from phr_desktop.domain.trends import Trend, build_trend, trend_key

MIN_POINTS_FOR_OTHER_LABS = 3


def chart_trends(records: Sequence[Record], pack: AatdPack) -> list[Trend]:
    """AAT level and FEV1 first (whenever they have a point), then any other lab result with
    at least three numeric values in one unit, by title."""
    groups: dict[tuple[str, str], list[Record]] = {}
    for r in records:
        if r.kind is RecordKind.LAB_RESULT:
            groups.setdefault(trend_key(r), []).append(r)
    aat: list[Trend] = []
    fev1: list[Trend] = []
    others: list[Trend] = []
    for group in groups.values():
        trend = build_trend(group, pack)
        if not trend.points:
            continue
        codes = [c for r in group for c in r.codes]
        if pack.is_aat_level(codes):
            aat.append(trend)
        elif pack.is_fev1(codes):
            fev1.append(trend)
        elif len(trend.points) >= MIN_POINTS_FOR_OTHER_LABS:
            others.append(trend)
    others.sort(key=lambda t: t.title.lower())
    return aat + fev1 + others


def _as_date(d: PartialDate) -> date:
    """A plotting position: partial dates sit at the start of their month or year."""
    return date(d.year, d.month or 1, int(d.day_text[8:10]) if d.day_text else 1)


def trend_png(trend: Trend, width_in: float = 6.6, height_in: float = 2.5, dpi: int = 200) -> bytes:
    """One trend as a PNG: the values, the latest reference band, and any clinical line."""
    fig = Figure(figsize=(width_in, height_in), dpi=dpi)
    FigureCanvasAgg(fig)
    ax = fig.add_subplot(1, 1, 1)
    days = [_as_date(p.date) for p in trend.points]
    xs = [float(date2num(d)) for d in days]
    ys = [p.value for p in trend.points]
    if trend.low is not None or trend.high is not None:
        lo = trend.low if trend.low is not None else min([*ys, 0.0])
        hi = trend.high if trend.high is not None else max(ys) * 1.1
        ax.axhspan(lo, hi, color="#d8eadf", alpha=0.7, lw=0, label="Reference range")
    if trend.threshold is not None:
        ax.axhline(
            trend.threshold, color="#b42318", lw=1, ls="--", label="Protective level (11 µmol/L)"
        )
    ax.plot(xs, ys, marker="o", ms=3.5, lw=1.4, color="#1d4e89", label=trend.title)
    unit = f" ({trend.unit})" if trend.unit else ""
    ax.set_ylabel(f"{trend.title}{unit}", fontsize=8)
    ax.xaxis_date()
    locator = AutoDateLocator()
    ax.xaxis.set_major_locator(locator)
    ax.xaxis.set_major_formatter(ConciseDateFormatter(locator))
    ax.tick_params(labelsize=7)
    ax.grid(True, color="#e5e9ef", lw=0.6)
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
    if trend.threshold is not None or trend.low is not None or trend.high is not None:
        # Below the axes, so it never hides a point or the band.
        ax.legend(
            fontsize=7, frameon=False, loc="upper center", bbox_to_anchor=(0.5, -0.12), ncol=3
        )
    if len(xs) == 1:  # a lone point would otherwise sit on an axis of zero width
        ax.set_xlim(
            float(date2num(date(days[0].year - 1, 1, 1))),
            float(date2num(date(days[0].year + 1, 12, 31))),
        )
    fig.tight_layout()
    out = io.BytesIO()
    fig.savefig(out, format="png", dpi=dpi)
    return out.getvalue()
