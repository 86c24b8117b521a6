"""The record PDF's table rows: each record's four cells (date, entry, details, source) from
the narrow row the export reads, laid out once per distinct cell."""

from __future__ import annotations

from typing import Any

from reportlab.lib import colors

from phr_desktop.domain.records import DatePrecision
from phr_desktop.interop.export_data import ShownRow
from phr_desktop.interop.pdf.styles import ALERT, FONT, FONT_BOLD, FONT_ITALIC, INK, MUTED, number
from phr_desktop.interop.pdf.table import Cell, LaidCell, LaidRow, Run, TableLayout

MAX_CELL_CHARS = 900  # a table row cannot split across pages, so a cell must stay short


def _cut(text: str, limit: int = MAX_CELL_CHARS) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "… (shortened; see app)"


def _hex(color: colors.Color) -> str:
    return "#" + color.hexval()[2:]


_INK, _MUTED, _ALERT = _hex(INK), _hex(MUTED), _hex(ALERT)


def _run(text: str, font: str = FONT, color: str = _INK, *, spaced: bool = False) -> Run:
    """Text in one face, whitespace made single spaces; `spaced` keeps a space before it."""
    return ((" " if spaced else "") + " ".join(text.split()), font, color)


class RowCells:
    """A table row for each record, laid out. The cells of a long record repeat (a test's
    title and status, a source, a day, a value), so each column remembers its laid-out cells
    by the values that make them: a row is then four lookups, each cell wrapped once."""

    _LIMIT = 20_000  # per column; cleared when full, so memory stays bounded

    def __init__(self, layout: TableLayout) -> None:
        self._layout = layout
        self._dates: dict[str | None, LaidCell] = {}
        self._entries: dict[Any, LaidCell] = {}
        self._details: dict[Any, LaidCell] = {}
        self._sources: dict[tuple[str | None, str | None], LaidCell] = {}
        self._heights: dict[int, float] = {}

    def _laid(
        self, known: dict[Any, LaidCell] | None, key: Any, cell: Cell, column: int
    ) -> LaidCell:
        laid = self._layout.laid(cell, column)
        if known is not None:
            if len(known) > self._LIMIT:
                known.clear()
            known[key] = laid
        return laid

    def __call__(self, row: ShownRow, text_kind: bool = False) -> LaidRow:
        """The row laid out; `text_kind`: the record's free text is shown (notes, imaging,
        documents). Called for every row of a long record: lookups inlined."""
        (_, effective, precision, title, status, num, unit, value_text, low, high, ref_text,
         flag, source, facility, quality, text, notes, _, _) = row  # fmt: skip
        if not effective:
            day = None
        elif precision in _DAY_PRECISE:
            day = effective[:10]
        else:
            day = effective
        date = self._dates.get(day)
        if date is None:
            date = self._laid(self._dates, day, ((_run(day or "no date"),),), 0)
        key: Any = (title, status, notes, quality)
        entry = self._entries.get(key)
        if entry is None:
            entry = self._laid(self._entries, key, _entry_cell(*key), 1)
        key = (num, unit, value_text, low, high, ref_text, flag, text if text_kind else "")
        # 0.0 and -0.0 are equal keys but are printed differently: never remembered.
        zero = num == 0 or low == 0 or high == 0
        detail = None if zero else self._details.get(key)
        if detail is None:
            detail = self._laid(None if zero else self._details, key, _detail_cell(*key), 2)
        key = (source, facility)
        source_cell = self._sources.get(key)
        if source_cell is None:
            source_cell = self._laid(self._sources, key, _source_cell(source, facility), 3)
        lines = max(date.count, entry.count, detail.count, source_cell.count)
        height = self._heights.get(lines)
        if height is None:
            height = self._heights[lines] = self._layout.height(lines)
        return (date, entry, detail, source_cell), height


_DAY_PRECISE = frozenset({DatePrecision.DAY.value, DatePrecision.INSTANT.value})


def _entry_cell(
    title: str | None, status: str | None, notes: tuple[str, ...], quality: tuple[str, ...]
) -> Cell:
    head = [_run(_cut(title or "Untitled", 300), FONT_BOLD)]
    if status:
        head.append(_run(f"({status})", color=_MUTED, spaced=True))
    parts = [tuple(head)]
    for note in notes:
        parts.append((_run(f"My note: {_cut(note, 400)}", FONT_ITALIC),))
    if quality:
        parts.append((_run(f"Data quality: {', '.join(quality)}", color=_ALERT),))
    return tuple(parts)


def _detail_cell(
    num: float | None,
    unit: str | None,
    value_text: str | None,
    low: float | None,
    high: float | None,
    ref_text: str | None,
    flag: str | None,
    text: str,
) -> Cell:
    """The value, its reference range and flag, and (for notes and documents) the text."""
    parts: list[tuple[Run, ...]] = []
    if num is not None:
        shown = [_run(number(num), FONT_BOLD)]
        if unit:
            shown.append(_run(unit, spaced=True))
        parts.append(tuple(shown))
    elif value_text:
        parts.append((_run(_cut(value_text, 500)),))
    if ref_text:
        parts.append((_run(f"Reference: {ref_text}"),))
    elif low is not None or high is not None:
        low_text = number(low) if low is not None else ""
        high_text = number(high) if high is not None else ""
        parts.append((_run(f"Reference: {low_text}–{high_text}"),))
    if flag:
        parts.append((_run(f"Flag: {flag}"),))
    if text:
        shown_text = " ".join(text.split())
        if not (value_text and value_text in shown_text and len(shown_text) < 40):
            parts.append((_run(_cut(shown_text)),))
    return tuple(parts) if parts else ((_run("—", color=_MUTED),),)


def _source_cell(source: str | None, facility: str | None) -> Cell:
    parts: list[tuple[Run, ...]] = [(_run(source or "source not recorded"),)]
    if facility and facility != source:
        parts.append((_run(facility, color=_MUTED),))
    return tuple(parts)
