"""The AATD overview: genotype, AAT level against the protective line, lung function decline,
the augmentation infusion log and the milestones of the condition."""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QPalette
from PySide6.QtWidgets import (
    QAbstractItemView,
    QFrame,
    QGridLayout,
    QGroupBox,
    QHeaderView,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QScrollArea,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from phr_desktop.domain.aat_level import describe_aat_level
from phr_desktop.services.record_reader import RecordReader
from phr_desktop.services.record_views import AatdOverview
from phr_desktop.services.terminology import aatd_pack
from phr_desktop.ui.kind_icons import kind_icon
from phr_desktop.ui.readable_colours import mark_muted
from phr_desktop.ui.record.trend_chart import TrendChart
from phr_desktop.ui.timeline.model import format_date, format_number

_INFUSION_COLUMNS = ("Date", "Product", "Dose")
# The menu path the main window really has (tests walk the menu bar along it).
INFUSION_HOW_TO = "Log one with File → New entry → Medication or infusion…"
GENOTYPE_HOW_TO = "Add it with File → New entry → AAT genotype…"
_MILESTONE_ICONS = {"copd": "problem", "aatd": "problem", "fev1": "lab_result",
                    "augmentation": "medication", "surgery": "procedure"}  # fmt: skip


class _Card(QFrame):
    """A headline number or fact with a caption, on the palette's base colour."""

    def __init__(self, heading: str, parent: QWidget) -> None:
        super().__init__(parent)
        self.setFrameShape(QFrame.Shape.StyledPanel)
        self.setBackgroundRole(QPalette.ColorRole.Base)
        self.setAutoFillBackground(True)
        self.heading = QLabel(heading, self)
        mark_muted(self.heading)
        self.value = QLabel(self)
        self.value.setAccessibleName(heading)
        self.value.setWordWrap(True)
        font = self.value.font()
        font.setPointSizeF(font.pointSizeF() * 1.5)
        font.setBold(True)
        self.value.setFont(font)
        self.caption = QLabel(self)
        self.caption.setAccessibleName(f"{heading} detail")
        self.caption.setWordWrap(True)
        layout = QVBoxLayout(self)
        layout.addWidget(self.heading)
        layout.addWidget(self.value)
        layout.addWidget(self.caption)

    def set(self, value: str, caption: str = "") -> None:
        self.value.setText(value)
        self.caption.setText(caption)


def genotype_text(genotype: str | None) -> str:
    """ "Pi*ZZ — severe deficiency" (severity from the shipped AATD value set)."""
    if not genotype:
        return "Not recorded"
    severity = aatd_pack().genotype_severity(genotype)
    return f"{genotype} — {severity} deficiency" if severity else genotype


class AatdView(QWidget):
    recordActivated = Signal(int)  # a milestone or an infusion was opened

    def __init__(
        self, session: RecordReader | None, parent: QWidget | None = None, *, hints: bool = True
    ) -> None:
        super().__init__(parent)
        self._session = session
        self.hints = hints  # "add it with File → New entry…": not in a clinician's read-only view
        self.overview: AatdOverview | None = None
        self._build()
        self.refresh()

    def _build(self) -> None:
        body = QWidget(self)
        self.genotype_card = _Card("Genotype", body)
        self.aat_card = _Card("Latest AAT level", body)
        self.decline_card = _Card("FEV1 decline", body)
        self.infusion_card = _Card("Augmentation", body)
        cards = QGridLayout()
        for column, card in enumerate(
            (self.genotype_card, self.aat_card, self.decline_card, self.infusion_card)
        ):
            cards.addWidget(card, 0, column)
            cards.setColumnStretch(column, 1)

        latest = "Latest result"
        self.aat_chart = TrendChart(body, title="AAT level", current_label=latest)
        self.fev1_chart = TrendChart(body, title="FEV1", current_label=latest)
        self.fev1_percent_chart = TrendChart(body, title="FEV1 % predicted", current_label=latest)
        charts = QGridLayout()
        charts.addWidget(self.aat_chart, 0, 0, 1, 2)
        charts.addWidget(self.fev1_chart, 1, 0)
        charts.addWidget(self.fev1_percent_chart, 1, 1)

        self.infusions = QTableWidget(0, len(_INFUSION_COLUMNS), body)
        self.infusions.setAccessibleName("Infusion log")
        self.infusions.setHorizontalHeaderLabels(list(_INFUSION_COLUMNS))
        self.infusions.verticalHeader().hide()
        self.infusions.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.infusions.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.infusions.setAlternatingRowColors(True)
        self.infusions.horizontalHeader().setSectionResizeMode(1, QHeaderView.ResizeMode.Stretch)
        self.infusions.setMinimumHeight(220)
        self.infusions.itemActivated.connect(self._infusion_opened)
        self.milestones = QListWidget(body)
        self.milestones.setAccessibleName("Milestones")
        self.milestones.setWordWrap(True)
        self.milestones.setMinimumHeight(220)
        self.milestones.itemActivated.connect(self._milestone_opened)
        lower = QGridLayout()
        for column, (title, widget) in enumerate(
            (("Infusion log", self.infusions), ("Milestones", self.milestones))
        ):
            box = QGroupBox(title, body)
            QVBoxLayout(box).addWidget(widget)
            lower.addWidget(box, 0, column)
            lower.setColumnStretch(column, 1)

        layout = QVBoxLayout(body)
        layout.addLayout(cards, 0)  # cards keep their height; charts and tables take the rest
        layout.addLayout(charts, 3)
        layout.addLayout(lower, 2)
        scroll = QScrollArea(self)
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QFrame.Shape.NoFrame)
        scroll.setWidget(body)
        outer = QVBoxLayout(self)
        outer.setContentsMargins(0, 0, 0, 0)
        outer.addWidget(scroll)

    # --- public API ----------------------------------------------------------------------

    def set_session(self, session: RecordReader | None) -> None:
        self._session = session
        self.refresh()

    def refresh(self) -> None:
        if self._session is None:
            self.clear()
            return
        self.overview = ov = self._session.views.aatd_overview()
        when = format_date(ov.genotype_record.record.effective) if ov.genotype_record else ""
        caption = (
            f"Recorded {when}"
            if when
            else ("" if ov.genotype or not self.hints else GENOTYPE_HOW_TO)
        )
        self.genotype_card.set(genotype_text(ov.genotype), caption)
        self._fill_aat(ov)
        if ov.fev1_slope_ml_per_year is not None:
            slope = ov.fev1_slope_ml_per_year
            word = "lost" if slope < 0 else "gained"
            self.decline_card.set(f"{abs(slope):.0f} mL/yr", f"FEV1 {word} per year (trend line)")
        else:
            self.decline_card.set("—", "Needs two dated FEV1 results")
        for chart, view in ((self.aat_chart, ov.aat), (self.fev1_chart, ov.fev1),
                            (self.fev1_percent_chart, ov.fev1_percent)):  # fmt: skip
            chart.set_trend(view)
        self._fill_infusions(ov)
        self._fill_milestones(ov)

    def clear(self) -> None:
        self.overview = None
        for card in (self.genotype_card, self.aat_card, self.decline_card, self.infusion_card):
            card.set("—")
        for chart in (self.aat_chart, self.fev1_chart, self.fev1_percent_chart):
            chart.clear()
        self.infusions.setRowCount(0)
        self.milestones.clear()

    # --- filling -------------------------------------------------------------------------

    def _fill_aat(self, ov: AatdOverview) -> None:
        trend = ov.aat.trend if ov.aat else None
        if trend is None or not trend.points:
            self.aat_card.set("—", "No AAT level recorded")
            return
        latest = trend.points[-1]
        # The same story as the record detail: protective level and the lab's range together.
        story = describe_aat_level(latest.value, trend.low, trend.high).text
        self.aat_card.set(
            f"{format_number(latest.value)} {trend.unit or ''}".strip(),
            f"{format_date(latest.date)}: {story[:1].lower()}{story[1:]}",
        )

    def _fill_infusions(self, ov: AatdOverview) -> None:
        self.infusions.setRowCount(len(ov.infusions))
        for row, stored in enumerate(ov.infusions):
            r = stored.record
            dose = ""
            if r.value and r.value.value is not None:
                dose = f"{format_number(r.value.value)} {r.value.unit or ''}".strip()
            for column, text in enumerate((format_date(r.effective), r.title, dose)):
                item = QTableWidgetItem(text)
                item.setData(Qt.ItemDataRole.UserRole, stored.id)
                self.infusions.setItem(row, column, item)
        self.infusions.resizeColumnToContents(0)
        if ov.infusions:
            latest = ov.infusions[0].record
            self.infusion_card.set(
                f"{len(ov.infusions)} infusions",
                f"Latest {format_date(latest.effective)}: {latest.title.split(' (')[0]}",
            )
        else:
            self.infusion_card.set("None logged", INFUSION_HOW_TO if self.hints else "")

    def _fill_milestones(self, ov: AatdOverview) -> None:
        self.milestones.clear()
        for view in ov.milestones:
            m = view.milestone
            item = QListWidgetItem(f"{format_date(m.date)}   {m.title}\n{m.detail}")
            item.setData(Qt.ItemDataRole.UserRole, view.record_ids[0] if view.record_ids else None)
            item.setToolTip(m.detail)
            item.setIcon(kind_icon(_MILESTONE_ICONS.get(m.kind.value.split("_")[0], "encounter")))
            self.milestones.addItem(item)

    def _infusion_opened(self, item: QTableWidgetItem) -> None:
        self.recordActivated.emit(int(item.data(Qt.ItemDataRole.UserRole)))

    def _milestone_opened(self, item: QListWidgetItem) -> None:
        record_id = item.data(Qt.ItemDataRole.UserRole)
        if record_id is not None:
            self.recordActivated.emit(int(record_id))
