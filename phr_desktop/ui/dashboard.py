"""The dashboard: providers and their sync state (`ui/providers_box.py`), latest records,
milestones, counts, search.

Recent searches are kept in the profile's vault (never in QSettings): no health data is written
outside it.
"""

from __future__ import annotations

from html import escape

from PySide6.QtCore import QSize, Qt, Signal
from PySide6.QtWidgets import (
    QAbstractItemView,
    QCompleter,
    QGridLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from phr_desktop.services.dashboard_lists import current_medications, new_since_last_sync
from phr_desktop.services.record_reader import SearchResults
from phr_desktop.services.search_history import RECENT_SEARCHES  # noqa: F401  (tests read it here)
from phr_desktop.services.session import RecordFilter, Session, StoredRecord
from phr_desktop.services.tasks import CancelToken, ProgressCallback
from phr_desktop.ui import style
from phr_desktop.ui.backups.status import BackupStatusWidget
from phr_desktop.ui.first_paint import FirstPaint
from phr_desktop.ui.getting_started import GettingStarted
from phr_desktop.ui.kind_icons import kind_icon, kind_label
from phr_desktop.ui.providers_box import ProvidersBox
from phr_desktop.ui.timeline.model import format_date, format_value
from phr_desktop.ui.workers import TaskRunner

PREVIEW_COUNT = 8
SEARCH_LIMIT = 50
FINDING_MILESTONES = "Finding milestones…"
_RECORD_ID = Qt.ItemDataRole.UserRole
_SUGGESTION = Qt.ItemDataRole.UserRole + 1  # a "did you mean" item's query
# A kind's name as a heading over several records.
_GROUP_LABELS = {"allergy": "Allergies", "patient": "Patient details", "imaging": "Imaging"}


def kind_group_label(kind: str) -> str:
    return _GROUP_LABELS.get(kind) or kind_label(kind) + "s"


def record_line(stored: StoredRecord) -> str:
    r = stored.record
    value = format_value(r)
    return "  ·  ".join(p for p in (format_date(r.effective), r.title, value) if p)


_MilestoneRow = tuple[str, str, int | None, str]


def milestone_rows(session: Session) -> list[_MilestoneRow]:
    """(text, detail, first record id, its kind) per milestone; runs on a worker thread."""
    rows: list[_MilestoneRow] = []
    for view in session.milestones():
        m = view.milestone
        first = view.record_ids[0] if view.record_ids else None
        kind = view.record_kinds[0] if view.record_kinds else ""
        rows.append((f"{format_date(m.date)}  ·  {m.title}", m.detail, first, kind))
    return rows


def _list(parent: QWidget, name: str) -> QListWidget:
    widget = QListWidget(parent)
    widget.setAccessibleName(name)
    widget.setUniformItemSizes(True)
    widget.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
    return widget


class Dashboard(QWidget):
    recordActivated = Signal(int)
    categoryActivated = Signal(str)
    dataChanged = Signal()  # a sync or disconnect changed records: other views should refresh
    # The "Get started" card's requests the window answers (the dashboard cannot import,
    # open entry forms or switch profiles itself).
    importRequested = Signal()
    addResultRequested = Signal()
    demoRequested = Signal()

    def __init__(self, session: Session, runner: TaskRunner, parent: QWidget | None = None):
        super().__init__(parent)
        self.session: Session | None = session
        self.runner = runner
        self.recent_searches: list[str] = session.search_history.recent()
        self._milestones_painted = False  # see _load_milestones
        self._milestones_wait: FirstPaint | None = None
        self.setAccessibleName("Dashboard")
        self._build(session)
        self._update_recent()
        self.refresh()

    # --- layout -------------------------------------------------------------------------------

    def _build(self, session: Session) -> None:
        grid = QGridLayout(self)
        top = QHBoxLayout()
        self.title = style.heading("", self, 1.6)
        top.addWidget(self.title)
        top.addStretch(1)
        self.export_button = QPushButton("Export…", self)
        self.share_button = QPushButton("Share…", self)
        for button in (self.export_button, self.share_button):
            button.setEnabled(False)
            button.setToolTip(style.LATER_RELEASE)
            button.setAccessibleDescription(style.LATER_RELEASE)
            top.addWidget(button)
        grid.addLayout(top, 0, 0, 1, 2)
        grid.addWidget(self._search_box(), 1, 0)
        self.providers = ProvidersBox(session, self.runner, self)  # ui/providers_box.py
        self.providers.changed.connect(self._after_change)
        self.providers.failed.connect(self.refresh)
        grid.addWidget(self.providers, 1, 1)
        self.latest_box = self._latest_box()
        self.milestones_box = self._milestones_box()
        self.counts_box = self._counts_box()
        grid.addWidget(self.latest_box, 2, 0)
        grid.addWidget(self.milestones_box, 2, 1)
        grid.addWidget(self.counts_box, 3, 0, 1, 2)
        self.getting_started = self._getting_started_box()
        grid.addWidget(self.getting_started, 2, 0, 2, 2)  # in place of the empty lists
        self.backup_status = BackupStatusWidget(self.session, self)  # ui/backups/status.py
        grid.addWidget(self.backup_status, 4, 0, 1, 2)
        grid.setColumnStretch(0, 3)
        grid.setColumnStretch(1, 2)
        grid.setRowStretch(2, 1)

    def _search_box(self) -> QGroupBox:
        box = QGroupBox("Search", self)
        layout = QVBoxLayout(box)
        self.search = QLineEdit(box)
        self.search.setAccessibleName("Quick search")
        self.search.setPlaceholderText("Search records, notes and documents (Enter)")
        self.search.setClearButtonEnabled(True)
        self.search.returnPressed.connect(self._search_entered)
        self.completer = QCompleter([], self.search)
        self.completer.setCaseSensitivity(Qt.CaseSensitivity.CaseInsensitive)
        self.search.setCompleter(self.completer)
        layout.addWidget(self.search)
        self.recent_label = QLabel(box)
        self.recent_label.setAccessibleName("Recent searches")
        self.recent_label.setTextFormat(Qt.TextFormat.RichText)
        self.recent_label.setWordWrap(True)
        self.recent_label.linkActivated.connect(self._recent_clicked)
        layout.addWidget(self.recent_label)
        self.results = _list(box, "Search results")
        self.results.itemActivated.connect(self._record_item_activated)
        self.results.hide()
        layout.addWidget(self.results)
        return box

    # --- get started (an empty record) ---------------------------------------------------------

    def _getting_started_box(self) -> GettingStarted:
        box = GettingStarted(self)
        box.connectRequested.connect(self.providers.connect_clicked)
        box.importRequested.connect(self.importRequested)
        box.addResultRequested.connect(self.addResultRequested)
        box.demoRequested.connect(self.demoRequested)
        box.hide()
        return box

    def _show_getting_started(self, empty: bool) -> None:
        """An empty record offers its first steps instead of lists that say "Nothing here yet."."""
        self.getting_started.setVisible(empty)
        for box in (self.latest_box, self.milestones_box, self.counts_box):
            box.setVisible(not empty)

    def _latest_box(self) -> QGroupBox:
        """Latest records, what is new since the last sync, and the medicines taken now: tabs
        of one box, so the dashboard still fits a 1024×700 screen."""
        box = QGroupBox("Records", self)
        layout = QVBoxLayout(box)
        self.record_tabs = QTabWidget(box)
        self.record_tabs.setDocumentMode(True)
        self.latest = _list(box, "Latest records")
        self.new_records = _list(box, "New since the last sync")
        self.medications = _list(box, "Current medications")
        for widget, title in ((self.latest, "Latest"), (self.new_records, "New since last sync"),
                              (self.medications, "Current medications")):  # fmt: skip
            widget.itemActivated.connect(self._record_item_activated)
            self.record_tabs.addTab(widget, title)
        layout.addWidget(self.record_tabs)
        return box

    def _fill_record_tabs(self, session: Session, synced: bool) -> None:
        self._fill_records(self.latest, session.records(RecordFilter(limit=PREVIEW_COUNT)))
        self._fill_records(self.new_records, new_since_last_sync(session, PREVIEW_COUNT))
        self._fill_records(self.medications, current_medications(session))
        self.record_tabs.setTabText(1, "New since last sync" if synced else "New in last import")
        self.new_records.setAccessibleName(self.record_tabs.tabText(1))

    def _milestones_box(self) -> QGroupBox:
        box = QGroupBox("Key milestones", self)
        layout = QVBoxLayout(box)
        self.milestones = _list(box, "Key milestones")
        self.milestones.setWordWrap(True)
        self.milestones.setUniformItemSizes(False)
        self.milestones.itemActivated.connect(self._record_item_activated)
        layout.addWidget(self.milestones)
        return box

    def _counts_box(self) -> QGroupBox:
        box = QGroupBox("Records by category", self)
        layout = QVBoxLayout(box)
        self.counts = _list(box, "Records by category")
        self.counts.setViewMode(QListWidget.ViewMode.ListMode)
        self.counts.setFlow(QListWidget.Flow.LeftToRight)
        self.counts.setWrapping(True)
        self.counts.setResizeMode(QListWidget.ResizeMode.Adjust)
        self.counts.setMovement(QListWidget.Movement.Static)
        metrics = self.fontMetrics()
        self.counts.setUniformItemSizes(False)  # labels differ in length; the grid aligns them
        cell = QSize(
            metrics.horizontalAdvance("Patient details: 00,000") + 48, metrics.height() * 2
        )
        self.counts.setGridSize(cell)
        self.counts.setMinimumHeight(cell.height() * 2 + 8)
        self.counts.setMaximumHeight(cell.height() * 3 + 8)
        self.counts.itemActivated.connect(self._count_activated)
        layout.addWidget(self.counts)
        return box

    # --- content ------------------------------------------------------------------------------

    def refresh(self) -> None:
        session = self.session
        if session is None:
            return
        self.title.setText(f"Overview · {session.profile_name}")
        self.backup_status.refresh()
        statuses = session.connection_statuses()
        self.providers.fill(statuses)
        self._fill_record_tabs(session, bool(statuses))
        self.counts.clear()
        counts = session.counts_by_kind()
        self._show_getting_started(not counts and not statuses)
        for kind, count in sorted(counts.items(), key=lambda kv: -kv[1]):
            item = QListWidgetItem(kind_icon(kind), f"{kind_label(kind)}: {count:,}")
            item.setData(_RECORD_ID, kind)
            item.setToolTip(f"Show {kind_label(kind).lower()} records on the timeline")
            self.counts.addItem(item)
        self._load_milestones(session)  # last: the worker starts once this thread's reads are done

    def _load_milestones(self, session: Session) -> None:
        """Milestones read every diagnosis, drug and test: seconds on a large record, so a worker
        computes them (read-only) while the rest of the window is already usable. It starts
        once the list has been painted: started earlier it holds the vault's connection while
        the first view (the timeline or this dashboard) reads its rows, delaying that paint."""
        self.milestones.clear()
        self.milestones.addItem(FINDING_MILESTONES)
        if not self._milestones_painted:
            if self._milestones_wait is None or not self._milestones_wait.pending:
                self._milestones_wait = FirstPaint(self.milestones, self._milestones_painted_now)
            return

        def find(_progress: ProgressCallback, _cancel: CancelToken) -> list[_MilestoneRow]:
            return milestone_rows(session)

        self.runner.run(
            find,
            title="Finding milestones",
            on_success=lambda rows: self._fill_milestones(session, rows),
            show_progress=False,
        )

    def _milestones_painted_now(self) -> None:
        self._milestones_painted = True
        if self.session is not None:
            self._load_milestones(self.session)

    @property
    def milestones_pending(self) -> bool:
        """Whether the milestones are not listed yet (waiting for the first paint or the worker)."""
        return self.milestones.count() == 1 and self.milestones.item(0).text() == FINDING_MILESTONES

    def _fill_milestones(self, session: Session, rows: list[_MilestoneRow]) -> None:
        if self.session is not session:  # locked or switched meanwhile
            return
        self.milestones.clear()
        for text, detail, record_id, kind in rows:
            item = QListWidgetItem(text)
            item.setToolTip(detail)
            if record_id is not None:
                item.setData(_RECORD_ID, record_id)
                item.setIcon(kind_icon(kind))
            self.milestones.addItem(item)
        if not rows:
            self.milestones.addItem("No milestones found yet.")

    @staticmethod
    def _fill_records(target: QListWidget, records: list[StoredRecord]) -> None:
        target.clear()
        for stored in records:
            item = QListWidgetItem(kind_icon(stored.record.kind.value), record_line(stored))
            item.setData(_RECORD_ID, stored.id)
            item.setToolTip(
                f"{kind_label(stored.record.kind.value)} · {stored.record.source_system or ''}"
            )
            target.addItem(item)
        if not records:
            target.addItem("Nothing here yet.")

    def _fill_search_results(self, answer: SearchResults) -> None:
        """Results grouped by kind under a heading each, the best group first; a spelling the
        search fixed is said, and "did you mean" offered when nothing matched."""
        self.results.clear()
        for typed, used in answer.corrections.items():
            self._note_item(f"Showing results for “{used}” (you typed “{typed}”)")
        for kind, records in answer.by_kind():
            heading = self._note_item(f"{kind_group_label(kind)} ({len(records)})")
            font = heading.font()
            font.setBold(True)
            heading.setFont(font)
            for stored in records:
                item = QListWidgetItem(kind_icon(kind), record_line(stored))
                item.setData(_RECORD_ID, stored.id)
                item.setToolTip(f"{kind_label(kind)} · {stored.record.source_system or ''}")
                self.results.addItem(item)
        if not answer.records:
            self._note_item("No records match.")
        if answer.suggestion:
            item = QListWidgetItem(f"Did you mean “{answer.suggestion}”?")
            item.setData(_SUGGESTION, answer.suggestion)
            self.results.addItem(item)

    def _note_item(self, text: str) -> QListWidgetItem:
        item = QListWidgetItem(text)
        item.setFlags(Qt.ItemFlag.ItemIsEnabled)  # a heading or a note: not a record to open
        self.results.addItem(item)
        return item

    def clear(self) -> None:
        """Forget everything shown (the app is locking)."""
        self.session = None
        if self._milestones_wait is not None:
            self._milestones_wait.cancel()
        self.backup_status.clear()
        for widget in (self.latest, self.new_records, self.medications, self.milestones,
                       self.counts, self.results):  # fmt: skip
            widget.clear()
        self.results.hide()
        self.providers.clear()
        self.search.clear()
        self.recent_searches.clear()
        self._update_recent()
        self.title.clear()

    def focus_search(self) -> None:
        self.search.setFocus(Qt.FocusReason.ShortcutFocusReason)
        self.search.selectAll()

    # --- search -------------------------------------------------------------------------------

    def run_search(self, text: str) -> None:
        text = text.strip()
        if not text or self.session is None:
            self.results.hide()
            return
        self.search.setText(text)
        self._fill_search_results(self.session.search_answer(text, SEARCH_LIMIT))
        self.results.show()
        self.recent_searches = self.session.search_history.remember(text)
        self._update_recent()

    def _update_recent(self) -> None:
        self.completer.model().setStringList(self.recent_searches)  # type: ignore[attr-defined]
        links = " · ".join(
            f'<a href="{i}">{escape(text)}</a>' for i, text in enumerate(self.recent_searches)
        )
        self.recent_label.setText(f"Recent: {links}" if links else "")
        self.recent_label.setVisible(bool(links))

    def _search_entered(self) -> None:
        self.run_search(self.search.text())

    def _recent_clicked(self, link: str) -> None:
        self.run_search(self.recent_searches[int(link)])

    def _record_item_activated(self, item: QListWidgetItem) -> None:
        record_id = item.data(_RECORD_ID)
        if isinstance(record_id, int):
            self.recordActivated.emit(record_id)
        elif isinstance(suggestion := item.data(_SUGGESTION), str):
            self.run_search(suggestion)

    def _count_activated(self, item: QListWidgetItem) -> None:
        self.categoryActivated.emit(item.data(_RECORD_ID))

    def _after_change(self) -> None:
        self.refresh()
        self.dataChanged.emit()
