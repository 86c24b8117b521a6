"""The matplotlib canvas behind TrendChart; imported only when a chart is first drawn."""

from __future__ import annotations

import datetime as dt

from matplotlib.backends.backend_qtagg import FigureCanvasQTAgg
from matplotlib.dates import AutoDateLocator, ConciseDateFormatter
from matplotlib.figure import Figure
from PySide6.QtCore import QEvent, QSize
from PySide6.QtGui import QColor, QPalette
from PySide6.QtWidgets import QSizePolicy, QWidget

from phr_desktop.domain.records import PartialDate
from phr_desktop.domain.trends import Trend
from phr_desktop.services.record_views import TrendView
from phr_desktop.ui.readable_colours import muted_colour
from phr_desktop.ui.timeline.model import format_number

_BAND = "#3a9a5b"  # the reference range: a calm green, translucent on any background
_THRESHOLD = "#e08a00"  # AAT's protective level: amber, a warning rather than an alarm


def _as_date(date: PartialDate) -> dt.date:
    text = date.day_text or (f"{date.text[:7]}-01" if date.month else f"{date.year}-01-01")
    return dt.date.fromisoformat(text)


def _hex(colour: QColor) -> str:
    return colour.name(QColor.NameFormat.HexRgb)


class TrendCanvas(FigureCanvasQTAgg):
    """Draws a `TrendView`; colours follow the widget palette, so dark mode just works."""

    _view: TrendView | None = None  # class defaults: the base __init__ already fires changeEvent
    _title: str | None = None
    _current_label = "This result"

    def __init__(
        self,
        parent: QWidget | None = None,
        *,
        title: str | None = None,
        current_label: str = "This result",
    ) -> None:
        self.figure = Figure(figsize=(5, 2.6), layout="constrained")
        super().__init__(self.figure)
        self.setPalette(QPalette())  # matplotlib forces a white palette; inherit the app's
        self.setParent(parent)
        self.setAccessibleName(title or "Trend chart")
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Preferred)
        self.setMinimumHeight(180)
        self._title = title
        self._current_label = current_label
        self._draw()

    def sizeHint(self) -> QSize:
        return QSize(520, 240)

    def set_trend(self, view: TrendView | None, *, title: str | None = None) -> None:
        self._view = view
        if title is not None:
            self._title = title
        self._draw()

    def clear(self) -> None:
        self._view = None
        self._draw()

    def point_count(self) -> int:
        return len(self._view.trend.points) if self._view else 0

    def changeEvent(self, event: QEvent) -> None:
        if event.type() == QEvent.Type.PaletteChange:  # the OS switched light/dark
            self._draw()
        super().changeEvent(event)

    # --- drawing -------------------------------------------------------------------------

    def _draw(self) -> None:
        palette = self.palette()
        background = _hex(palette.color(QPalette.ColorRole.Base))
        text = _hex(palette.color(QPalette.ColorRole.Text))
        muted = _hex(muted_colour(palette))
        line = _hex(palette.color(QPalette.ColorRole.Highlight))
        font_size = max(7.0, self.font().pointSizeF() * 0.9)

        self.figure.clear()
        self.figure.set_facecolor(background)
        ax = self.figure.add_subplot()
        ax.set_facecolor(background)
        for spine in ("top", "right"):
            ax.spines[spine].set_visible(False)
        for spine in ("left", "bottom"):
            ax.spines[spine].set_color(muted)
        ax.tick_params(colors=text, labelsize=font_size)
        ax.grid(True, axis="y", color=muted, alpha=0.25, linewidth=0.6)

        view = self._view
        trend = view.trend if view else None
        title = self._title or (trend.title if trend else "")
        if trend and trend.unit:
            title = f"{title} ({trend.unit})"
        ax.set_title(title, color=text, fontsize=font_size * 1.1, loc="left")
        if trend is None or not trend.points:
            ax.set_xticks([])
            ax.set_yticks([])
            message = "No numeric results to chart"
            ax.text(0.5, 0.5, message, ha="center", va="center", color=muted,
                    fontsize=font_size, transform=ax.transAxes)  # fmt: skip
            self.setAccessibleDescription(message)
            self.draw_idle()
            return

        dates = [_as_date(p.date) for p in trend.points]
        values = [p.value for p in trend.points]
        # matplotlib plots dates (its date converter); its stubs only admit numbers.
        ax.plot(dates, values, color=line, linewidth=1.8, marker="o", markersize=4, zorder=3)  # type: ignore[arg-type]
        if view is not None and view.current_index is not None:
            i = view.current_index
            ax.plot([dates[i]], [values[i]], marker="o", markersize=10, zorder=4,  # type: ignore[arg-type]
                    markerfacecolor="none", markeredgecolor=text, markeredgewidth=1.6,
                    linestyle="none", label=self._current_label)  # fmt: skip
        self._draw_band(ax, trend, values)
        if trend.threshold is not None:
            label = f"Protective level {format_number(trend.threshold)}"
            ax.axhline(trend.threshold, color=_THRESHOLD, linestyle="--", linewidth=1.4,
                       label=label, zorder=2)  # fmt: skip
        locator = AutoDateLocator(minticks=3, maxticks=7)
        ax.xaxis.set_major_locator(locator)
        ax.xaxis.set_major_formatter(ConciseDateFormatter(locator))
        if ax.get_legend_handles_labels()[0]:
            legend = ax.legend(fontsize=font_size * 0.9, frameon=False, loc="best")
            for legend_text in legend.get_texts():
                legend_text.set_color(text)
        unit = f" {trend.unit}" if trend.unit else ""
        self.setAccessibleDescription(
            f"{len(values)} results from {dates[0].year} to {dates[-1].year}; "
            f"latest {format_number(values[-1])}{unit}"
        )
        self.draw_idle()

    @staticmethod
    def _draw_band(ax, trend: Trend, values: list[float]) -> None:  # type: ignore[no-untyped-def]
        """Shade the reference range and fit the y axis to the results, the band and the line."""
        low, high = trend.low, trend.high
        marks = [v for v in (low, high, trend.threshold) if v is not None]
        bottom, top = min(values + marks), max(values + marks)
        pad = (top - bottom) * 0.12 or abs(top) * 0.1 or 1.0
        y_min = bottom - pad if bottom - pad >= 0 or bottom < 0 else 0.0
        y_max = top + pad
        if low is not None or high is not None:
            ax.axhspan(low if low is not None else y_min, high if high is not None else y_max,
                       color=_BAND, alpha=0.16, linewidth=0, zorder=1,
                       label="Reference range")  # fmt: skip
        ax.set_ylim(y_min, y_max)
