"""The timeline screen: filters (kind, dates, source, tag, text) over the lazy year/month tree."""

from __future__ import annotations

from PySide6.QtCore import QModelIndex, QPersistentModelIndex, Qt, QTimer, Signal
from PySide6.QtGui import QAction, QKeyEvent, QResizeEvent
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QMenu,
    QPushButton,
    QStyle,
    QToolButton,
    QTreeView,
    QVBoxLayout,
    QWidget,
)

from phr_desktop.domain.records import RecordKind, parse_partial_date
from phr_desktop.services.record_reader import RecordReader
from phr_desktop.services.session import RecordFilter
from phr_desktop.ui.kind_icons import kind_icon, kind_label
from phr_desktop.ui.partial_date_edit import CalendarButton
from phr_desktop.ui.timeline.columns import fit_columns, title_min_width
from phr_desktop.ui.timeline.model import RecordIdRole, TimelineModel

_TAG_LABELS = {"aatd": "AATD", "lung_function": "Lung function"}
_SEARCH_DELAY_MS = 250  # type-ahead: search once the typing pauses


def tag_label(tag: str) -> str:
    return _TAG_LABELS.get(tag, tag.replace("_", " ").capitalize())


class _RecordTree(QTreeView):
    """Enter on a record row activates it on every platform (some styles only use double-click)."""

    enterPressed = Signal(QModelIndex)
    resized = Signal()

    def keyPressEvent(self, event: QKeyEvent) -> None:
        if event.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter) and self.currentIndex().isValid():
            self.enterPressed.emit(self.currentIndex())
            return
        super().keyPressEvent(event)

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        self.resized.emit()


class TimelineView(QWidget):
    recordActivated = Signal(int)

    def __init__(self, session: RecordReader | None, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._session = session
        self._updating = False
        self.model = TimelineModel(session, self)
        self._search_timer = QTimer(self, singleShot=True, interval=_SEARCH_DELAY_MS)
        self._search_timer.timeout.connect(self._filters_changed)
        self._build()
        self._fill_choices()
        self.model.set_filter(RecordFilter())
        self._after_reset()

    # --- layout --------------------------------------------------------------------------

    def _build(self) -> None:
        self.search = QLineEdit(self, placeholderText="Search titles, codes, notes and documents")
        self.search.setAccessibleName("Search records")
        self.search.setClearButtonEnabled(True)
        self.search.textChanged.connect(self._search_edited)
        self.search.returnPressed.connect(self._filters_changed)

        self.kinds_button = QToolButton(self)
        self.kinds_button.setText("All kinds")
        self.kinds_button.setAccessibleName("Record kinds")
        self.kinds_button.setPopupMode(QToolButton.ToolButtonPopupMode.InstantPopup)
        self.kinds_menu = QMenu(self.kinds_button)
        self._kind_actions: dict[str, QAction] = {}
        for kind in RecordKind:
            action = self.kinds_menu.addAction(kind_icon(kind.value), kind_label(kind.value))
            action.setCheckable(True)
            action.toggled.connect(self._filter_choice_changed)
            self._kind_actions[kind.value] = action
        self.kinds_button.setMenu(self.kinds_menu)

        self.source_combo = QComboBox(self)
        self.source_combo.setAccessibleName("Source system")
        self.source_combo.currentIndexChanged.connect(self._filter_choice_changed)
        self.tag_combo = QComboBox(self)
        self.tag_combo.setAccessibleName("Tag")
        self.tag_combo.currentIndexChanged.connect(self._filter_choice_changed)

        self.date_from = QLineEdit(self, placeholderText="From: YYYY, YYYY-MM or YYYY-MM-DD")
        self.date_from.setAccessibleName("From date")
        self.date_to = QLineEdit(self, placeholderText="To: YYYY, YYYY-MM or YYYY-MM-DD")
        self.date_to.setAccessibleName("To date")
        for edit in (self.date_from, self.date_to):
            edit.setClearButtonEnabled(True)
            edit.editingFinished.connect(self._filters_changed)
        self.from_calendar = CalendarButton(
            self.date_from, "Pick the from date", self, compact=True
        )
        self.to_calendar = CalendarButton(self.date_to, "Pick the to date", self, compact=True)
        self.reset_button = QPushButton("Clear filters", self)
        self.reset_button.setAccessibleName("Clear filters")
        self.reset_button.clicked.connect(self.reset_filters)
        self.status = QLabel(self)
        self.status.setAccessibleName("Records shown")

        self.tree = _RecordTree(self)
        self.tree.setAccessibleName("Timeline")
        self.tree.setModel(self.model)
        self.tree.setUniformRowHeights(True)  # lets the view skip measuring 100k rows
        self.tree.setAlternatingRowColors(True)
        self.tree.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.tree.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.tree.setAllColumnsShowFocus(True)
        header = self.tree.header()
        header.setStretchLastSection(False)
        header.setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        header.setSectionResizeMode(1, QHeaderView.ResizeMode.Stretch)
        metrics = self.fontMetrics()
        icon = self.style().pixelMetric(QStyle.PixelMetric.PM_SmallIconSize)
        indent = self.tree.indentation() * 3 + icon + 24  # root decoration + year + month
        self.preferred_widths = {
            0: metrics.horizontalAdvance("0000-00-00") + max(indent, 60),
            2: metrics.horizontalAdvance("000.00 mg/dL ↑") + 24,
            3: metrics.horizontalAdvance("Clinical note") + 24,
            4: metrics.horizontalAdvance("Riverside Pulmonary (Epic)") + 24,
        }
        for column, width in self.preferred_widths.items():
            header.resizeSection(column, width)
        self.tree.resized.connect(self._fit_columns)
        self.tree.doubleClicked.connect(self._activated)
        self.tree.enterPressed.connect(self._activated)
        self.tree.selectionModel().currentChanged.connect(self._current_changed)

        top = QHBoxLayout()
        top.addWidget(self.search, 3)
        top.addWidget(self.kinds_button)
        top.addWidget(self.source_combo, 1)
        top.addWidget(self.tag_combo, 1)
        second = QHBoxLayout()
        second.addWidget(self.date_from, 1)
        second.addWidget(self.from_calendar)
        second.addWidget(QLabel("–", self))
        second.addWidget(self.date_to, 1)
        second.addWidget(self.to_calendar)
        second.addWidget(self.reset_button)
        second.addStretch(1)
        second.addWidget(self.status)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(top)
        layout.addLayout(second)
        layout.addWidget(self.tree, 1)
        for first, then in (
            (self.search, self.kinds_button), (self.kinds_button, self.source_combo),
            (self.source_combo, self.tag_combo), (self.tag_combo, self.date_from),
            (self.date_from, self.from_calendar), (self.from_calendar, self.date_to),
            (self.date_to, self.to_calendar), (self.to_calendar, self.reset_button),
            (self.reset_button, self.tree),
        ):  # fmt: skip
            QWidget.setTabOrder(first, then)

    def _fill_choices(self) -> None:
        self._updating = True
        for combo, everything in ((self.source_combo, "All sources"), (self.tag_combo, "All tags")):
            combo.clear()
            combo.addItem(everything, None)
        if self._session is not None:
            for source in self._session.source_systems():
                self.source_combo.addItem(source, source)
            for tag in self._session.tags():
                self.tag_combo.addItem(tag_label(tag), tag)
        self._updating = False

    # --- public API ----------------------------------------------------------------------

    def set_session(self, session: RecordReader | None) -> None:
        self._session = session
        self._fill_choices()
        self.model.set_session(session)
        self._after_reset()

    def refresh(self) -> None:
        """Re-read choices and rows, keeping the filters (after an import or a new entry)."""
        source, tag = self.source_combo.currentData(), self.tag_combo.currentData()
        self._fill_choices()
        self._updating = True
        self._select_data(self.source_combo, source)
        self._select_data(self.tag_combo, tag)
        self._updating = False
        self.model.refresh()
        self._after_reset()

    def clear(self) -> None:
        """Drop every row and choice; used when the app locks."""
        self._session = None
        self._search_timer.stop()
        self._set_widgets(RecordFilter())
        self._fill_choices()
        self.model.clear()
        self._after_reset()

    def apply_filter(self, record_filter: RecordFilter) -> None:
        self._set_widgets(record_filter)
        self.model.set_filter(record_filter)
        self._after_reset()

    def current_filter(self) -> RecordFilter:
        return RecordFilter(
            kinds=tuple(k for k, a in self._kind_actions.items() if a.isChecked()),
            since=self._date_text(self.date_from),
            until=self._date_text(self.date_to),
            tag=self.tag_combo.currentData(),
            source_system=self.source_combo.currentData(),
            text=self.search.text().strip() or None,
        )

    def reset_filters(self) -> None:
        self.apply_filter(RecordFilter())

    def select_record(self, record_id: int) -> bool:
        """Make a record the current row (e.g. after a related record was clicked)."""
        index = self.model.index_for_record(record_id)
        if not index.isValid():
            return False
        self.tree.setCurrentIndex(index)
        self.tree.scrollTo(index)
        return True

    # --- internals -----------------------------------------------------------------------

    def _fit_columns(self) -> None:
        need = title_min_width(self.fontMetrics())
        width = self.tree.viewport().width()
        fit_columns(self.tree.header(), self.preferred_widths, width, need)

    def _date_text(self, edit: QLineEdit) -> str | None:
        text = edit.text().strip()
        parsed = parse_partial_date(text) if text else None
        return parsed.text[:10] if parsed else None

    def _set_widgets(self, f: RecordFilter) -> None:
        self._updating = True
        for kind, action in self._kind_actions.items():
            action.setChecked(kind in f.kinds)
        self.search.setText(f.text or "")
        self.date_from.setText(f.since or "")
        self.date_to.setText(f.until or "")
        self._select_data(self.source_combo, f.source_system)
        self._select_data(self.tag_combo, f.tag)
        self._updating = False
        self._search_timer.stop()
        self._update_kinds_button()

    @staticmethod
    def _select_data(combo: QComboBox, value: str | None) -> None:
        found = combo.findData(value) if value is not None else 0
        if value is not None and found < 0:  # no longer (or not yet) listed: add, never drop
            combo.addItem(tag_label(value) if combo.accessibleName() == "Tag" else value, value)
            found = combo.count() - 1
        combo.setCurrentIndex(found)

    def _search_edited(self, _text: str) -> None:
        self._search_timer.start()

    def _filter_choice_changed(self, _checked_or_index: object) -> None:
        self._filters_changed()

    def _filters_changed(self) -> None:
        if self._updating:
            return
        self._update_kinds_button()
        problems = [
            f"“{e.text().strip()}” is not a date"
            for e in (self.date_from, self.date_to)
            if e.text().strip() and parse_partial_date(e.text().strip()) is None
        ]
        self.model.set_filter(self.current_filter())
        self._after_reset(problems[0] if problems else None)

    def _update_kinds_button(self) -> None:
        chosen = [kind_label(k) for k, a in self._kind_actions.items() if a.isChecked()]
        if len(chosen) > 1:
            self.kinds_button.setText(f"{len(chosen)} kinds")
        else:
            self.kinds_button.setText(chosen[0] if chosen else "All kinds")

    def _after_reset(self, problem: str | None = None) -> None:
        count = self.model.record_count()
        shown = f"{count:,} record{'s' if count != 1 else ''}"
        self.status.setText(f"{problem} · {shown}" if problem else shown)
        if self.model.rowCount() > 0:  # open the newest year and its newest month
            year = self.model.index(0, 0)
            self.tree.expand(year)
            if self.model.rowCount(year) > 0:
                self.tree.expand(self.model.index(0, 0, year))

    def _activated(self, index: QModelIndex | QPersistentModelIndex) -> None:
        record_id = index.data(RecordIdRole)
        if record_id is not None:
            self.recordActivated.emit(int(record_id))

    def _current_changed(self, current: QModelIndex, _previous: QModelIndex) -> None:
        self._activated(current)
