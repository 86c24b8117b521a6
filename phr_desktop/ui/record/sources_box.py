"""The record detail's "Sources" box: every source of the shown fact, and the patient's way to
say two of them are not one fact ("These are different") and to undo that."""

from __future__ import annotations

from PySide6.QtCore import QModelIndex, QPersistentModelIndex, QRect, QSize, Qt, Signal
from PySide6.QtGui import QResizeEvent
from PySide6.QtWidgets import (
    QGroupBox,
    QHBoxLayout,
    QListView,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QStyledItemDelegate,
    QStyleOptionViewItem,
    QVBoxLayout,
    QWidget,
)

from phr_desktop.services.record_reader import RecordReader
from phr_desktop.services.session import Session
from phr_desktop.ui import style
from phr_desktop.ui.timeline.model import format_date

_ID = Qt.ItemDataRole.UserRole
_ROWS_SHOWN = 4  # more sources than this scroll, so the box never pushes the record away


class _WrappingDelegate(QStyledItemDelegate):
    """Rows as tall as their text wrapped to the list's width (QListView in list mode sizes a
    row to one line, so its word wrap alone only elides)."""

    def sizeHint(
        self, option: QStyleOptionViewItem, index: QModelIndex | QPersistentModelIndex
    ) -> QSize:
        base = super().sizeHint(option, index)
        view = option.widget
        width = view.viewport().width() - 8 if isinstance(view, QListWidget) else base.width()
        text = str(index.data(Qt.ItemDataRole.DisplayRole) or "")
        flags = int(Qt.TextFlag.TextWordWrap) | int(Qt.AlignmentFlag.AlignLeft)
        bounds = option.fontMetrics.boundingRect(QRect(0, 0, max(width, 40), 0), flags, text)
        return QSize(max(width, 40), max(base.height(), bounds.height() + 4))


def _wrapping_list(name: str, parent: QWidget) -> QListWidget:
    """A list whose long lines ("Lakeside Medical Center portal export 2024-03-02 — …") wrap
    instead of scrolling sideways in a narrow detail pane (1024×700)."""
    widget = style.named_list(name, parent)
    widget.setUniformItemSizes(False)
    widget.setWordWrap(True)
    widget.setResizeMode(QListView.ResizeMode.Adjust)
    widget.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
    widget.setTextElideMode(Qt.TextElideMode.ElideNone)
    widget.setItemDelegate(_WrappingDelegate(widget))
    return widget


def _fit_height(widget: QListWidget) -> None:
    """As tall as its first rows (wrapped lines included), at most _ROWS_SHOWN of them."""
    rows = range(min(_ROWS_SHOWN, max(1, widget.count())))
    height = sum(max(widget.sizeHintForRow(row), 0) for row in rows)
    widget.setFixedHeight(max(height, widget.fontMetrics().height()) + 2 * widget.frameWidth() + 4)


class RecordSourcesBox(QGroupBox):
    changed = Signal(int)  # a split or its undo changed which records are shown

    def __init__(self, session: RecordReader | None, parent: QWidget | None = None) -> None:
        super().__init__("Sources", parent)
        self._session = session
        self._record_id: int | None = None
        self.sources_list = _wrapping_list("Sources of this record", self)
        self.split_button = QPushButton("These are different", self)
        self.split_button.setToolTip(
            "The selected source's record is not the same fact: show it on its own"
        )
        self.split_button.clicked.connect(self.split_selected)
        self.apart_list = _wrapping_list("Kept apart from this record", self)
        self.undo_button = QPushButton("Show as one again", self)
        self.undo_button.clicked.connect(self.undo_selected)
        self.sources_list.currentItemChanged.connect(self._update_buttons)
        self.apart_list.currentItemChanged.connect(self._update_buttons)
        self.apart_hint = style.muted("Kept apart from this record by you:", self)
        buttons = QHBoxLayout()
        buttons.addWidget(self.split_button)
        buttons.addWidget(self.undo_button)
        buttons.addStretch(1)
        layout = QVBoxLayout(self)
        layout.addWidget(self.sources_list)
        layout.addWidget(self.apart_hint)
        layout.addWidget(self.apart_list)
        layout.addLayout(buttons)

    def set_session(self, session: RecordReader | None) -> None:
        self._session = session
        self.clear()

    @property
    def _own(self) -> Session | None:
        """Splitting writes: only in the patient's own profile, never in an opened share."""
        return self._session if isinstance(self._session, Session) else None

    def show_record(self, record_id: int) -> None:
        if self._session is None:
            return
        self._record_id = record_id
        fact = self._session.same_fact_records(record_id)
        origins = self._session.record_origins([s.id for s in fact])
        self.sources_list.clear()
        for stored in fact:
            when = format_date(stored.record.effective)
            text = f"{origins.get(stored.id, '?')} — {stored.record.title}, {when}"
            item = QListWidgetItem(text)
            item.setToolTip(text)
            item.setData(_ID, stored.id)
            self.sources_list.addItem(item)
        apart = self._session.split_from(record_id)
        self.apart_list.clear()
        for stored in apart:
            origin = self._session.record_origins([stored.id]).get(stored.id, "?")
            text = f"{origin} — {stored.record.title}"
            item = QListWidgetItem(text)
            item.setToolTip(text)
            item.setData(_ID, stored.id)
            self.apart_list.addItem(item)
        self._fit_lists()
        self.apart_list.setVisible(bool(apart))
        self.apart_hint.setVisible(bool(apart))
        self.setTitle(f"Sources ({len(fact)})" if len(fact) > 1 else "Source")
        self._update_buttons()

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        for widget in (self.sources_list, self.apart_list):
            widget.doItemsLayout()  # a narrower pane wraps into more lines
        self._fit_lists()

    def _fit_lists(self) -> None:
        _fit_height(self.sources_list)
        _fit_height(self.apart_list)

    def clear(self) -> None:
        self._record_id = None
        self.sources_list.clear()
        self.apart_list.clear()
        self._update_buttons()

    def _selected(self, widget: QListWidget) -> int | None:
        item = widget.currentItem()
        value = item.data(_ID) if item is not None else None
        return int(value) if value is not None and value != self._record_id else None

    def _update_buttons(self, *_: object) -> None:
        own = self._own is not None
        self.split_button.setVisible(own and self.sources_list.count() > 1)
        self.split_button.setEnabled(self._selected(self.sources_list) is not None)
        self.undo_button.setVisible(own and self.apart_list.count() > 0)
        self.undo_button.setEnabled(self._selected(self.apart_list) is not None)

    def split_selected(self) -> None:
        other = self._selected(self.sources_list)
        session = self._own
        if session is None or other is None or self._record_id is None:
            return
        session.split_records(self._record_id, other)
        self.show_record(self._record_id)
        self.changed.emit(self._record_id)

    def undo_selected(self) -> None:
        other = self._selected(self.apart_list)
        session = self._own
        if session is None or other is None or self._record_id is None:
            return
        session.undo_split(self._record_id, other)
        self.show_record(self._record_id)
        self.changed.emit(self._record_id)
