"""The timeline as a lazy tree (year → month → records) that holds counts and fetches rows in
blocks.

The model holds only how many records each month has; the rows on screen are read from the
vault a block of one month at a time and a bounded number of blocks stay cached, so starting
and filtering cost the same at 500,000 records as at 5,000 (no list of every id is read), and
memory stays flat.
"""

from __future__ import annotations

import calendar
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any

from PySide6.QtCore import QAbstractItemModel, QModelIndex, QObject, QPersistentModelIndex, Qt
from PySide6.QtGui import QColor, QFont, QGuiApplication, QPalette

from phr_desktop.domain.records import DatePrecision, PartialDate, Record
from phr_desktop.services.aat_reading import aat_reading
from phr_desktop.services.record_reader import RecordReader
from phr_desktop.services.session import RecordFilter, StoredRecord
from phr_desktop.ui.kind_icons import kind_icon, kind_label
from phr_desktop.ui.readable_colours import flag_colour

RecordIdRole = Qt.ItemDataRole.UserRole + 1
# Roles as plain ints: a paint asks ~1,500 times, and looking up a Qt enum member per
# comparison was most of each answer's cost.
_DISPLAY = Qt.ItemDataRole.DisplayRole.value
_DECORATION = Qt.ItemDataRole.DecorationRole.value
_TOOLTIP = Qt.ItemDataRole.ToolTipRole.value
_FONT = Qt.ItemDataRole.FontRole.value
_FOREGROUND = Qt.ItemDataRole.ForegroundRole.value
_ACCESSIBLE_TEXT = Qt.ItemDataRole.AccessibleTextRole.value
_ROW_FLAGS = Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable
# The roles a record row answers; any other is None before the row is even looked up.
_RECORD_ROLES = frozenset(
    {_DISPLAY, _DECORATION, _TOOLTIP, _FONT, _FOREGROUND, _ACCESSIBLE_TEXT, RecordIdRole}
)
COLUMNS = ("Date", "Title", "Value", "Kind", "Source")
BLOCK_SIZE = 256
MAX_CACHED_BLOCKS = 24

_RECORD_FLAG = 1 << 40  # internalId of a record row: flag | year index << 8 | month index
_ABNORMAL_CODES = {
    "h": "high", "hh": "high", "hu": "high", ">": "high", "high": "high",
    "l": "low", "ll": "low", "lu": "low", "<": "low", "low": "low",
    "a": "abnormal", "aa": "abnormal", "abnormal": "abnormal", "critical": "abnormal",
    "pos": "abnormal", "positive": "abnormal", "det": "abnormal", "detected": "abnormal",
}  # fmt: skip
_FLAG_MARKS = {"high": " ↑", "low": " ↓", "abnormal": " !"}
AnyIndex = QModelIndex | QPersistentModelIndex
_ROOT = QModelIndex()


# --- presentation helpers shared by the timeline and the record detail -------------------------


def format_date(date: PartialDate | None, *, with_time: bool = False) -> str:
    """A date as precise as the source gave it: "2015", "Mar 2015", "2015-03-04"."""
    if date is None:
        return "No date"
    if date.precision is DatePrecision.YEAR:
        return date.text[:4]
    if date.precision is DatePrecision.MONTH:
        return f"{calendar.month_abbr[date.month or 1]} {date.text[:4]}"
    if date.precision is DatePrecision.INSTANT and with_time:
        return f"{date.text[:10]} {date.text[11:16]}"
    return date.text[:10]


def format_number(value: float) -> str:
    return f"{value:g}"


def format_value(record: Record) -> str:
    value = record.value
    if value is None:
        return ""
    shown = format_number(value.value) if value.value is not None else (value.text or "")
    return f"{shown} {value.unit}".strip() if value.unit and shown else shown


def format_reference_range(record: Record) -> str:
    rr = record.reference_range
    if rr is None:
        return ""
    unit = f" {record.value.unit}" if record.value and record.value.unit else ""
    if rr.low is not None and rr.high is not None:
        return f"{format_number(rr.low)}–{format_number(rr.high)}{unit}"
    if rr.low is not None:
        return f"≥ {format_number(rr.low)}{unit}"
    if rr.high is not None:
        return f"≤ {format_number(rr.high)}{unit}"
    return rr.text or ""


def abnormal_flag(record: Record) -> str | None:
    """ "high", "low" or "abnormal" from the interpretation, else from the reference range;
    an AAT level only when it is under the protective level (services/aat_reading.py)."""
    reading = aat_reading(record)
    if reading is not None:
        return "low" if reading.below_protective else None
    if record.interpretation:
        found = _ABNORMAL_CODES.get(record.interpretation.strip().lower())
        if found:
            return found
    value, rr = record.value, record.reference_range
    if value is None or value.value is None or rr is None:
        return None
    if rr.low is not None and value.value < rr.low:
        return "low"
    if rr.high is not None and value.value > rr.high:
        return "high"
    return None


def abnormal_colour(palette: QPalette | None = None) -> QColor:
    """A red that reads at 4.5:1 on this palette (asked for at each paint: follows a switch
    between light and dark)."""
    return flag_colour(palette or QGuiApplication.palette())


# --- the model ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Row:
    """A record row's cells, worked out once when its block is read (not at every paint)."""

    stored: StoredRecord
    flag: str | None  # abnormal_flag
    display: tuple[str, str, str, str, str]  # the columns' text

    @classmethod
    def of(cls, stored: StoredRecord) -> _Row:
        record = stored.record
        flag = abnormal_flag(record)
        value = format_value(record) + (_FLAG_MARKS[flag] if flag else "")
        return cls(
            stored,
            flag,
            (
                format_date(record.effective),
                record.title,
                value,
                kind_label(record.kind.value),
                record.source_system or "",
            ),
        )


@dataclass
class _Month:
    label: str
    bucket: str  # the vault's name for the month: "2015-03", "2015", "" (see services)
    count: int


@dataclass
class _Year:
    label: str
    count: int
    months: list[_Month]


class TimelineModel(QAbstractItemModel):
    """Year → month → record rows over `session.timeline_months(filter)`, fetched in blocks."""

    def __init__(self, session: RecordReader | None, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._session = session
        self._filter = RecordFilter()
        self._years: list[_Year] = []
        self._total = 0
        # (month bucket, block number) → that block's rows, in timeline order
        self._blocks: OrderedDict[tuple[str, int], list[_Row]] = OrderedDict()
        self._bold = QFont()
        self._bold.setBold(True)

    # --- public API ----------------------------------------------------------------------

    def set_session(self, session: RecordReader | None) -> None:
        self._session = session
        self.refresh()

    def set_filter(self, record_filter: RecordFilter) -> None:
        self._filter = record_filter
        self.refresh()

    def record_filter(self) -> RecordFilter:
        return self._filter

    def refresh(self) -> None:
        """Re-read the month counts (after an import, a sync, a new entry)."""
        self.beginResetModel()
        self._blocks.clear()
        months = [] if self._session is None else self._session.timeline_months(self._filter)
        self._years = _build_years(months)
        self._total = sum(count for _bucket, count in months)
        self.endResetModel()

    def clear(self) -> None:
        """Forget every count and cached row (the app is locking)."""
        self.beginResetModel()
        self._session = None
        self._filter = RecordFilter()
        self._years, self._total = [], 0
        self._blocks.clear()
        self.endResetModel()

    def record_count(self) -> int:
        return self._total

    def cached_block_count(self) -> int:
        return len(self._blocks)

    def index_for_record(self, record_id: int) -> QModelIndex:
        """The row of a record under the current filter (invalid when it is filtered out)."""
        if self._session is None:
            return QModelIndex()
        found = self._session.timeline_position(self._filter, record_id)
        if found is None:
            return QModelIndex()
        bucket, row = found
        for y, year in enumerate(self._years):
            for m, month in enumerate(year.months):
                if month.bucket == bucket and row < month.count:
                    return self.createIndex(row, 0, _RECORD_FLAG | y << 8 | m)
        return QModelIndex()

    def record_at(self, index: AnyIndex) -> StoredRecord | None:
        if not index.isValid() or not index.internalId() & _RECORD_FLAG:
            return None
        row = self._row_at(index.internalId(), index.row())
        return None if row is None else row.stored

    def _row_at(self, iid: int, row: int) -> _Row | None:
        return self._fetch(self._years[(iid >> 8) & 0xFFFFFFFF].months[iid & 0xFF], row)

    # --- tree structure ------------------------------------------------------------------

    def index(self, row: int, column: int, parent: AnyIndex = _ROOT) -> QModelIndex:
        # hasIndex() by hand: it would call rowCount and columnCount back through Python.
        if row < 0 or not 0 <= column < len(COLUMNS):
            return QModelIndex()
        if not parent.isValid():
            return self.createIndex(row, column, 0) if row < len(self._years) else QModelIndex()
        pid = parent.internalId()
        if pid & _RECORD_FLAG or parent.column() != 0:
            return QModelIndex()
        if pid == 0:  # parent is a year: a month row; its id names the year
            months = self._years[parent.row()].months
            if row >= len(months):
                return QModelIndex()
            return self.createIndex(row, column, parent.row() + 1)
        if row >= self._years[pid - 1].months[parent.row()].count:
            return QModelIndex()
        return self.createIndex(row, column, _RECORD_FLAG | (pid - 1) << 8 | parent.row())

    def parent(self, index: AnyIndex = _ROOT) -> QModelIndex:  # type: ignore[override]
        if not index.isValid():
            return QModelIndex()
        iid = index.internalId()
        if iid == 0:
            return QModelIndex()
        if iid & _RECORD_FLAG:
            year, month = (iid >> 8) & 0xFFFFFFFF, iid & 0xFF
            return self.createIndex(month, 0, year + 1)
        return self.createIndex(iid - 1, 0, 0)

    def rowCount(self, parent: AnyIndex = _ROOT) -> int:
        if not parent.isValid():
            return len(self._years)
        if parent.column() != 0:
            return 0
        pid = parent.internalId()
        if pid == 0:
            return len(self._years[parent.row()].months)
        if pid & _RECORD_FLAG:
            return 0
        return self._years[pid - 1].months[parent.row()].count

    def columnCount(self, parent: AnyIndex = _ROOT) -> int:
        return len(COLUMNS)

    def headerData(
        self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole
    ) -> Any:
        if orientation == Qt.Orientation.Horizontal and role == Qt.ItemDataRole.DisplayRole:
            return COLUMNS[section]
        return None

    def flags(self, index: AnyIndex) -> Qt.ItemFlag:
        if not index.isValid():
            return Qt.ItemFlag.NoItemFlags
        return _ROW_FLAGS

    # --- data ----------------------------------------------------------------------------

    def data(self, index: AnyIndex, role: int = _DISPLAY) -> Any:
        if not index.isValid():
            return None
        iid = index.internalId()
        if not iid & _RECORD_FLAG:
            return self._group_data(index, iid, role)
        if role not in _RECORD_ROLES:
            return None
        row = self._row_at(iid, index.row())
        if row is None:
            return None
        if role == RecordIdRole:
            return row.stored.id
        return _record_data(row, index.column(), role, self._bold)

    def _group_data(self, index: AnyIndex, iid: int, role: int) -> Any:
        if iid == 0:
            group: _Year | _Month = self._years[index.row()]
        else:
            group = self._years[iid - 1].months[index.row()]
        if role == Qt.ItemDataRole.DisplayRole:
            if index.column() == 0:
                return group.label
            if index.column() == 1:
                return f"{group.count:,} record{'s' if group.count != 1 else ''}"
        if role == Qt.ItemDataRole.FontRole and iid == 0:
            return self._bold
        if role == Qt.ItemDataRole.ToolTipRole:
            return f"{group.label}: {group.count:,} records"
        return None

    def _fetch(self, month: _Month, row: int) -> _Row | None:
        if self._session is None or not 0 <= row < month.count:
            return None
        block_no = row // BLOCK_SIZE
        key = (month.bucket, block_no)
        block = self._blocks.get(key)
        if block is None:
            block = [
                _Row.of(stored)
                for stored in self._session.timeline_page(
                    self._filter, month.bucket, block_no * BLOCK_SIZE, BLOCK_SIZE
                )
            ]
            self._blocks[key] = block
            while len(self._blocks) > MAX_CACHED_BLOCKS:
                self._blocks.popitem(last=False)
        else:
            self._blocks.move_to_end(key)
        at = row - block_no * BLOCK_SIZE
        # Fewer rows than counted: the data changed since; refresh() will catch up.
        return block[at] if at < len(block) else None


def _record_data(row: _Row, column: int, role: int, bold: QFont) -> Any:
    if role == _DISPLAY:
        return row.display[column]
    if role == _DECORATION and column == 0:
        return kind_icon(row.stored.record.kind.value)
    if role == _TOOLTIP:
        return record_tooltip(row.stored.record)
    if role in (_FONT, _FOREGROUND) and column in (1, 2):
        if row.flag is None:
            return None
        return bold if role == _FONT else abnormal_colour()
    if role == _ACCESSIBLE_TEXT and column == 2:
        return format_value(row.stored.record) + (f", {row.flag}" if row.flag else "")
    return None


def record_tooltip(record: Record) -> str:
    lines = [record.title, format_date(record.effective, with_time=True)]
    if record.value:
        flag = abnormal_flag(record)
        lines.append(format_value(record) + (f" ({flag})" if flag else ""))
    if record.reference_range:
        lines.append(f"Reference range: {format_reference_range(record)}")
    if record.source_system:
        lines.append(f"From {record.source_system}")
    lines.extend(f"⚠ {q}" for q in record.quality)
    return "\n".join(lines)


def _build_years(months: list[tuple[str, int]]) -> list[_Year]:
    """Months come newest first; a year's month-less dates after its months, undated last."""
    years: list[_Year] = []
    for bucket, count in months:
        label = bucket[:4] or "No date"
        if not years or years[-1].label != label:
            years.append(_Year(label, 0, []))
        year = years[-1]
        year.months.append(_Month(_month_label(bucket), bucket, count))
        year.count += count
    return years


def _month_label(bucket: str) -> str:
    if not bucket:
        return "Date not recorded"
    month = bucket[5:7]
    if len(bucket) >= 7 and month.isdigit() and 1 <= int(month) <= 12:
        return calendar.month_name[int(month)]
    return "Month not recorded"
