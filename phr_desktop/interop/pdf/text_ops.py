"""The PDF text operators of the record tables' rows, written without reportlab's text object:
the hottest loop of a long record (every cell of every row)."""

from __future__ import annotations

from collections.abc import Sequence
from itertools import accumulate
from typing import TYPE_CHECKING, Any

from reportlab.lib.colors import HexColor
from reportlab.lib.rl_accel import escapePDF
from reportlab.pdfbase.pdfmetrics import getFont

if TYPE_CHECKING:
    from phr_desktop.interop.pdf.table import LaidCell, Line, TableLayout

# A cell's text operators: (first font, first colour, the operators that set that colour
# and that font, the operators after the first line's position (assuming both are set),
# the font and colour it leaves set, and its first line's offset from the column's left).
CellOps = tuple[str, str, str, str, str, str, str, float]

# Distinct texts kept encoded: repeated titles, dates and sources stay cached, while a
# record of 400,000 mostly distinct values does not keep every one.
_CACHE_LIMIT = 50_000


class TextOps:
    """The PDF text operators of one page's rows, as one text object.

    Each distinct cell is encoded once per document (splitString and getSubsetInternalName,
    as reportlab's ttfonts documents for dynamic fonts), its lines placed relative to its first
    (Td), so a row costs one position per cell: a long table repeats most of its cells, and
    reportlab's text object would measure and encode each again. A line's runs follow each
    other with no move between them, so text extraction (pypdf, screen readers) reads
    "Title (final)" as one line.
    """

    def __init__(self, layout: TableLayout, canv: Any) -> None:
        doc = canv._doc  # the subsets of a dynamic font belong to one document
        if layout.encoded_for is not doc:
            layout.encoded, layout.encoded_for = {}, doc
            layout.subset_names = {}
        self._doc = doc
        self._cache = layout.encoded
        self._subset_names = layout.subset_names
        self._look = layout.look
        self._size = f"{layout.look.font_size:g}"
        look = layout.look
        self._baseline_below_top = look.pad_y + look.font_size
        self._column_x = list(accumulate(look.col_widths[:-1], initial=look.pad_x))
        self._tm_list = [f"1 0 0 1 {x:.2f}" for x in self._column_x]
        self._out = ["BT"]
        self._font = ""
        self._color = ""

    def _encoded(self, text: str, font_name: str) -> tuple[tuple[str, str], ...]:
        key = (text, font_name)
        encoded = self._cache.get(key)
        if encoded is None:
            if len(self._cache) > _CACHE_LIMIT:
                self._cache.clear()
            font = getFont(font_name)
            encoded = self._cache[key] = tuple(
                (self._subset_name(font, font_name, subset), f"({escapePDF(chunk)}) Tj")
                for subset, chunk in font.splitString(text, self._doc)
            )
        return encoded

    def _subset_name(self, font: Any, font_name: str, subset: int) -> str:
        """The font subset's name in this document ("/F2+0"), asked of the font once: its
        answer goes through a weak-keyed dictionary of documents on every call."""
        key = (font_name, subset)
        name = self._subset_names.get(key)
        if name is None:
            name = self._subset_names[key] = font.getSubsetInternalName(subset, self._doc)
        return name

    def _cell_ops(self, lines: tuple[Line, ...]) -> CellOps:
        """The cell's operators after its first line is placed, with the font and colour it
        starts in (set by the caller when they differ) and those it leaves set."""
        parts: list[str] = []
        font = color = first_font = first_color = ""
        leading = f"{-self._look.leading:g}"
        line_x: float | None = None
        for line in lines:
            if line_x is not None:
                parts.append(f"{line[0][0] - line_x:.2f} {leading} Td")
            line_x = line[0][0]
            for _, run, font_name, run_color in line:
                if run_color != color:
                    if color:
                        parts.append(_RG[run_color] if run_color in _RG else _rg(run_color))
                    else:
                        first_color = run_color
                    color = run_color
                for name, shown in self._encoded(run, font_name):
                    if name != font:
                        if font:
                            parts.append(f"{name} {self._size} Tf")
                        else:
                            first_font = name
                        font = name
                    parts.append(shown)
        set_color = ((_RG.get(first_color) or _rg(first_color)) + "\n") if first_color else ""
        set_font = f"{first_font} {self._size} Tf\n" if first_font else ""
        x = lines[0][0][0]  # a line starts at the cell's left edge: 0 but for a test
        return first_font, first_color, set_color, set_font, "\n".join(parts), font, color, x

    def row(self, cells: Sequence[LaidCell], top: float) -> None:
        # The hottest loop of a long record (every cell of every row): locals, and one string
        # appended per cell, its font and colour switches joined to its text.
        append = self._out.append
        doc = self._doc
        baseline = f" {top - self._baseline_below_top:.2f} Tm\n"
        font, color = self._font, self._color
        for cell, x0, tm in zip(cells, self._column_x, self._tm_list, strict=True):
            ops = cell.ops
            if ops is None or cell.ops_for is not doc:
                if not cell.count:
                    continue
                ops = cell.ops = self._cell_ops(cell.lines)
                cell.ops_for = doc
            first_font, first_color, set_color, set_font, body, last_font, last_color, x = ops
            head = f"1 0 0 1 {x0 + x:.2f}{baseline}" if x else tm + baseline
            if first_color != color and first_color:
                head += set_color
            if first_font != font and first_font:
                head += set_font
            append(head + body)
            if last_font:
                font = last_font
            if last_color:
                color = last_color
        self._font, self._color = font, color

    def finish(self) -> str:
        self._out.append("ET")
        return "\n".join(self._out)


_RG: dict[str, str] = {}


def _rg(hex_text: str) -> str:
    """The PDF fill-colour operator for "#rrggbb"."""
    r, g, b = HexColor(hex_text).rgb()
    _RG[hex_text] = op = f"{r:.3f} {g:.3f} {b:.3f} rg"
    return op
