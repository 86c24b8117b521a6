"""Long tables of records for the PDF: every cell wrapped once, then cut into one piece per page.

reportlab's Table with a Paragraph per cell re-wraps every cell at each split and draw, and
copies its style commands at each page, so a 13,000-row record took most of a minute. Here a
cell is a few styled runs of plain text; each distinct cell is wrapped once (a test's title
or a source name repeats thousands of times), rows never split, and a page draws only its
rows, with the header row repeated on each.
"""

from __future__ import annotations

import bisect
from collections.abc import Sequence
from dataclasses import dataclass
from itertools import accumulate
from typing import Any

from reportlab.lib.colors import Color, HexColor
from reportlab.lib.rl_accel import escapePDF
from reportlab.pdfbase.pdfmetrics import getFont, stringWidth
from reportlab.platypus import Flowable

# A run is text in one font and colour ("#rrggbb"); a cell is paragraphs of runs, each
# paragraph starting on a new line.
Run = tuple[str, str, str]
Cell = tuple[tuple[Run, ...], ...]
# A laid-out line: (x offset, text, font, colour) for each run on it.
Line = tuple[tuple[float, str, str, str], ...]

SHORTENED = "… (shortened; see app)"
_MUTED = "#5f6b7a"


@dataclass(frozen=True)
class TableLook:
    col_widths: tuple[float, ...]
    font: str  # for the note on a row cut to fit a page
    header_font: str
    header_fill: Color
    zebra: Color
    rule: Color
    font_size: float = 8.0
    leading: float = 10.0
    pad_x: float = 4.0
    pad_y: float = 3.0


class _Layout:
    """Every row's lines and height, computed once for the whole table."""

    def __init__(
        self,
        look: TableLook,
        header: Sequence[str],
        rows: Sequence[Sequence[Cell]],
    ) -> None:
        self.look = look
        self.encoded: dict[tuple[str, str], tuple[tuple[str, str], ...]] = {}
        self.encoded_for: object = None  # the document `encoded` holds subset codes of
        self._widths: dict[tuple[str, str], float] = {}
        self._cells: dict[tuple[Cell, float], tuple[Line, ...]] = {}
        self.header: list[tuple[Line, ...]] = [
            self._wrap((((h, look.header_font, "#ffffff"),),), w - 2 * look.pad_x)
            for h, w in zip(header, look.col_widths, strict=True)
        ]
        self.rows: list[list[tuple[Line, ...]]] = [
            [
                self._wrap(cell, w - 2 * look.pad_x)
                for cell, w in zip(row, look.col_widths, strict=True)
            ]
            for row in rows
        ]
        self.header_height = self._height(self.header)
        self.heights = [self._height(cells) for cells in self.rows]
        self.tops = [0.0, *accumulate(self.heights)]  # row i spans tops[i]..tops[i + 1]

    def _height(self, cells: Sequence[tuple[Line, ...]]) -> float:
        lines = max((len(c) for c in cells), default=0)
        return max(lines, 1) * self.look.leading + 2 * self.look.pad_y

    def shorten_row(self, index: int, max_height: float) -> None:
        """Cut a row taller than a whole page (a record with very many notes) to fit it."""
        room = max_height - self.header_height - 2 * self.look.pad_y
        most = max(1, int(room // self.look.leading))
        row = self.rows[index]
        note = ((0.0, SHORTENED, self.look.font, _MUTED),)
        for i, lines in enumerate(row):
            if len(lines) > most:
                row[i] = (*lines[: most - 1], note)
        self.heights[index] = self._height(row)
        self.tops = [0.0, *accumulate(self.heights)]

    def _width(self, text: str, font: str) -> float:
        key = (text, font)
        width = self._widths.get(key)
        if width is None:
            width = self._widths[key] = stringWidth(text, font, self.look.font_size)
        return width

    def _wrap(self, cell: Cell, width: float) -> tuple[Line, ...]:
        key = (cell, width)
        lines = self._cells.get(key)
        if lines is None:
            lines = self._cells[key] = tuple(
                line for paragraph in cell for line in self._wrap_paragraph(paragraph, width)
            )
        return lines

    def _wrap_paragraph(self, runs: tuple[Run, ...], width: float) -> list[Line]:
        """Greedy word wrap across runs; a word wider than the cell is broken by characters."""
        lines: list[list[list[Any]]] = [[]]  # per line: [x, text, font, colour] runs
        x = 0.0
        spaces, gap = 0, 0.0  # the spaces waiting before the next word
        for text, font, color in runs:
            space = self._width(" ", font)
            for n, word in enumerate(text.split(" ")):
                if n > 0:
                    spaces, gap = spaces + 1, gap + space
                if not word:
                    continue
                w = self._width(word, font)
                if x == 0 or x + gap + w > width:
                    if x > 0:
                        lines.append([])
                    x, spaces, gap = 0.0, 0, 0.0  # a line never starts with a space
                for piece, piece_w in self._pieces(word, w, font, width):
                    if x > 0 and x + piece_w > width:
                        lines.append([])
                        x = 0.0
                    current = lines[-1]
                    if current and current[-1][2] == font and current[-1][3] == color:
                        # Same face: one string, as wide as its words and spaces apart.
                        current[-1][1] += " " * spaces + piece
                    elif current:  # drawn on from the last run: its spaces lead it
                        current.append([x + gap, " " * spaces + piece, font, color])
                    else:
                        current.append([x, piece, font, color])
                    x += gap + piece_w
                    spaces, gap = 0, 0.0
        return [tuple((r[0], r[1], r[2], r[3]) for r in line) for line in lines if line]

    def _pieces(self, word: str, w: float, font: str, width: float) -> list[tuple[str, float]]:
        if w <= width:
            return [(word, w)]
        pieces: list[tuple[str, float]] = []
        start = 0
        for end in range(1, len(word) + 1):
            if self._width(word[start:end], font) > width and end - 1 > start:
                pieces.append((word[start : end - 1], self._width(word[start : end - 1], font)))
                start = end - 1
        pieces.append((word[start:], self._width(word[start:], font)))
        return pieces


class RecordTable(Flowable):
    """Rows start..end of a laid-out table; split() hands on the rest without copying."""

    def __init__(
        self,
        look: TableLook,
        header: Sequence[str],
        rows: Sequence[Sequence[Cell]],
        *,
        _layout: _Layout | None = None,
        _span: tuple[int, int] | None = None,
    ) -> None:
        super().__init__()
        self._header = header
        self._rows = rows
        self._look = look
        self._layout = _layout
        self._start, self._end = _span or (0, len(rows))

    def _laid_out(self) -> _Layout:
        if self._layout is None:
            self._layout = _Layout(self._look, self._header, self._rows)
        return self._layout

    def _span_height(self, start: int, end: int) -> float:
        layout = self._laid_out()
        return layout.header_height + layout.tops[end] - layout.tops[start]

    def wrap(self, availWidth: float, availHeight: float) -> tuple[float, float]:
        self.width = sum(self._look.col_widths)
        self.height = self._span_height(self._start, self._end)
        return self.width, self.height

    def split(self, availWidth: float, availHeight: float) -> list[Flowable]:
        layout = self._laid_out()
        # The last row whose bottom is within reach: tops[end] - tops[start] <= room.
        room = availHeight - layout.header_height
        end = bisect.bisect_right(layout.tops, layout.tops[self._start] + room, self._start) - 1
        end = min(end, self._end)
        if end <= self._start:
            frame = getattr(self, "_frame", None)  # set by the frame before it splits us
            if frame is None or not frame._atTop:
                return []  # not even one row fits: the frame moves to a new page
            # Rows never split, so one taller than an empty page is cut to fit.
            layout.shorten_row(self._start, availHeight)
            return self.split(availWidth, availHeight)
        if end >= self._end:
            return [self]
        return [self._piece(self._start, end), self._piece(end, self._end)]

    def _piece(self, start: int, end: int) -> RecordTable:
        return RecordTable(
            self._look, self._header, self._rows, _layout=self._layout, _span=(start, end)
        )

    def draw(self) -> None:
        layout = self._laid_out()
        look = self._look
        canv = self.canv
        width = sum(look.col_widths)
        top = self.height
        canv.saveState()
        canv.setFillColor(look.header_fill)
        canv.rect(0, top - layout.header_height, width, layout.header_height, stroke=0, fill=1)
        # Zebra stripes and rules as one path each: canvas.rect and canvas.lines format every
        # number through reportlab's pure-Python fp_str, thousands of times per table.
        bottoms = [
            top - layout.header_height - (layout.tops[i + 1] - layout.tops[self._start])
            for i in range(self._start, self._end)
        ]
        stripes = [
            f"0 {y:.2f} {width:.2f} {layout.heights[i]:.2f} re"
            for i, y in zip(range(self._start, self._end), bottoms, strict=True)
            if i % 2 == 1
        ]
        canv.setFillColor(look.zebra)
        if stripes:
            canv.addLiteral("\n".join([*stripes, "f"]))
        canv.setStrokeColor(look.rule)
        canv.setLineWidth(0.3)
        canv.addLiteral("\n".join([*(f"0 {y:.2f} m {width:.2f} {y:.2f} l" for y in bottoms), "S"]))
        ops = _TextOps(layout, canv, look.font_size)
        ops.row(layout.header, top, look)
        for i in range(self._start, self._end):
            y = top - layout.header_height - (layout.tops[i] - layout.tops[self._start])
            ops.row(layout.rows[i], y, look)
        canv.addLiteral(ops.finish())
        canv.restoreState()


class _TextOps:
    """The PDF text operators of one page's rows, as one text object.

    Each distinct (font, text) run is encoded once per document (splitString and
    getSubsetInternalName, as reportlab's ttfonts documents for dynamic fonts): a long table
    repeats most of its runs, and reportlab's text object would measure and encode each one
    again. A line's runs follow each other with no move between them, so text extraction
    (pypdf, screen readers) reads "Title (final)" as one line.
    """

    def __init__(self, layout: _Layout, canv: Any, size: float) -> None:
        doc = canv._doc  # the subsets of a dynamic font belong to one document
        if layout.encoded_for is not doc:
            layout.encoded, layout.encoded_for = {}, doc
        self._doc = doc
        self._cache = layout.encoded
        self._size = f"{size:g}"
        self._out = ["BT"]
        self._font = ""
        self._color = ""

    def _encoded(self, text: str, font_name: str) -> tuple[tuple[str, str], ...]:
        key = (text, font_name)
        encoded = self._cache.get(key)
        if encoded is None:
            font = getFont(font_name)
            encoded = self._cache[key] = tuple(
                (font.getSubsetInternalName(subset, self._doc), f"({escapePDF(chunk)}) Tj")
                for subset, chunk in font.splitString(text, self._doc)
            )
        return encoded

    def row(self, cells: Sequence[tuple[Line, ...]], top: float, look: TableLook) -> None:
        out = self._out
        x0 = look.pad_x
        for lines, col_width in zip(cells, look.col_widths, strict=True):
            baseline = top - look.pad_y - look.font_size
            for line in lines:
                out.append(f"1 0 0 1 {x0 + line[0][0]:.2f} {baseline:.2f} Tm")
                for _, run, font, color in line:
                    if color != self._color:
                        out.append(_RG[color] if color in _RG else _rg(color))
                        self._color = color
                    for name, shown in self._encoded(run, font):
                        if name != self._font:
                            out.append(f"{name} {self._size} Tf")
                            self._font = name
                        out.append(shown)
                baseline -= look.leading
            x0 += col_width

    def finish(self) -> str:
        self._out.append("ET")
        return "\n".join(self._out)


_RG: dict[str, str] = {}


def _rg(hex_text: str) -> str:
    """The PDF fill-colour operator for "#rrggbb"."""
    r, g, b = HexColor(hex_text).rgb()
    _RG[hex_text] = op = f"{r:.3f} {g:.3f} {b:.3f} rg"
    return op
