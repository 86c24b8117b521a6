"""A trend chart that costs nothing until it first draws.

matplotlib takes about half a second to import, so the canvas (trend_canvas.py) is created
on the first `set_trend`; start-up and unlock stay quick.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import QSize
from PySide6.QtWidgets import QSizePolicy, QVBoxLayout, QWidget

from phr_desktop.services.record_views import TrendView

if TYPE_CHECKING:
    from phr_desktop.ui.record.trend_canvas import TrendCanvas


class TrendChart(QWidget):
    def __init__(
        self,
        parent: QWidget | None = None,
        *,
        title: str | None = None,
        current_label: str = "This result",
    ) -> None:
        super().__init__(parent)
        self._title = title
        self._current_label = current_label
        self._view: TrendView | None = None
        self._canvas: TrendCanvas | None = None
        self._layout = QVBoxLayout(self)
        self._layout.setContentsMargins(0, 0, 0, 0)
        self.setAccessibleName(title or "Trend chart")
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Preferred)
        self.setMinimumHeight(180)

    def sizeHint(self) -> QSize:
        return QSize(520, 240)

    def _ensure_canvas(self) -> TrendCanvas:
        if self._canvas is None:
            from phr_desktop.ui.record.trend_canvas import TrendCanvas

            self._canvas = TrendCanvas(self, title=self._title, current_label=self._current_label)
            self._layout.addWidget(self._canvas)
        return self._canvas

    def set_trend(self, view: TrendView | None, *, title: str | None = None) -> None:
        self._view = view
        if title is not None:
            self._title = title
        self._ensure_canvas().set_trend(view, title=title)

    def clear(self) -> None:
        self._view = None
        if self._canvas is not None:
            self._canvas.clear()

    def point_count(self) -> int:
        return len(self._view.trend.points) if self._view else 0
