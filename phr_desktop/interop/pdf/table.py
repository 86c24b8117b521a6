"""Long tables of records for the PDF: rows laid out as they are needed, a page at a time.

reportlab's Table with a Paragraph per cell re-wraps every cell at each split and draw, and
copies its style commands at each page, so a 13,000-row record took most of a minute. Here a
cell is a few styled runs of plain text; each distinct cell is wrapped and encoded once (a
test's title or a source name repeats thousands of times), rows never split, and the table
takes its rows from an iterator, laying out only about a page of them ahead: a 400,000-row
record needs no more memory than a short one. The header row is repeated on each page.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from reportlab.lib.colors import Color
from reportlab.pdfbase.pdfmetrics import stringWidth
from reportlab.platypus import Flowable

from phr_desktop.interop.pdf.text_ops import CellOps, TextOps

# A run is text in one font and colour ("#rrggbb"); a cell is paragraphs of runs, each
# paragraph starting on a new line.
Run = tuple[str, str, str]
Cell = tuple[tuple[Run, ...], ...]
# A laid-out line: (x offset, text, font, colour) for each run on it.
Line = tuple[tuple[float, str, str, str], ...]

SHORTENED = "… (shortened; see app)"
_MUTED = "#5f6b7a"
# Distinct cells kept wrapped and encoded: repeated titles, dates and sources stay cached,
# while a record of 400,000 mostly distinct values does not keep every one.
_CACHE_LIMIT = 50_000


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


class LaidCell:
    """A cell's lines, and its PDF text operators once drawn (per document)."""

    __slots__ = ("count", "lines", "ops", "ops_for")

    def __init__(self, lines: tuple[Line, ...]) -> None:
        self.lines = lines
        self.count = len(lines)
        # Its operators, drawn per document (see text_ops.py).
        self.ops: CellOps | None = None
        self.ops_for: object = None  # the document whose font subsets `ops` names


# A laid-out row: each column's cell, and the row's height.
LaidRow = tuple[tuple[LaidCell, ...], float]


class TableLayout:
    """Wraps rows as the table asks for them, each distinct cell once."""

    def __init__(self, look: TableLook, header: Sequence[str]) -> None:
        self.look = look
        self._widths: dict[tuple[str, str], float] = {}
        self._cells: dict[tuple[Cell, float], LaidCell] = {}
        self._by_id: dict[int, tuple[Cell, float, LaidCell]] = {}
        self._inner = [w - 2 * look.pad_x for w in look.col_widths]
        self.encoded: dict[tuple[str, str], tuple[tuple[str, str], ...]] = {}
        self.encoded_for: object = None  # the document `encoded` holds subset codes of
        self.subset_names: dict[tuple[str, int], str] = {}  # of `encoded_for`: "/F2+0"
        self.header = self.row([(((h, look.header_font, "#ffffff"),),) for h in header])

    def row(self, cells: Sequence[Cell]) -> LaidRow:
        wrap = self._wrap
        laid = tuple([wrap(cell, w) for cell, w in zip(cells, self._inner, strict=True)])
        return laid, self._height(laid)

    def _height(self, cells: Sequence[LaidCell]) -> float:
        return self.height(max([c.count for c in cells], default=0))

    def height(self, lines: int) -> float:
        """The height of a row whose tallest cell has this many lines."""
        return max(lines, 1) * self.look.leading + 2 * self.look.pad_y

    def laid(self, cell: Cell, column: int) -> LaidCell:
        """The cell wrapped to its column, for a caller that remembers laid cells itself (so
        not remembered here). Most cells of a long record are one run on one line (a day, a
        value, a source): those are measured once and placed as the word wrap would."""
        width = self._inner[column]
        if len(cell) == 1 and len(cell[0]) == 1:
            text, font, color = cell[0][0]
            fits = self._width(text, font) <= width - 0.01  # as in _on_one_line
            if fits and text and text[0] != " " and text[-1] != " " and "  " not in text:
                return LaidCell((((0.0, text, font, color),),))
        return LaidCell(
            tuple(line for paragraph in cell for line in self._wrap_paragraph(paragraph, width))
        )

    def shortened(self, row: LaidRow, max_height: float) -> LaidRow:
        """A row taller than a whole page (a record with very many notes), cut to fit it."""
        room = max_height - self.header[1] - 2 * self.look.pad_y
        most = max(1, int(room // self.look.leading))
        note = ((0.0, SHORTENED, self.look.font, _MUTED),)
        cells = tuple(
            LaidCell((*c.lines[: most - 1], note)) if len(c.lines) > most else c for c in row[0]
        )
        return cells, self._height(cells)

    def _width(self, text: str, font: str) -> float:
        key = (text, font)
        width = self._widths.get(key)
        if width is None:
            if len(self._widths) > _CACHE_LIMIT:
                self._widths.clear()
            width = self._widths[key] = stringWidth(text, font, self.look.font_size)
        return width

    def _wrap(self, cell: Cell, width: float) -> LaidCell:
        # The same Cell object again (a caller that remembers its cells) is found by identity,
        # without hashing its runs; the entry keeps the cell alive, so its id is not reused.
        seen = self._by_id.get(id(cell))
        if seen is not None and seen[0] is cell and seen[1] == width:
            return seen[2]
        laid = self._wrap_equal(cell, width)
        if len(self._by_id) > _CACHE_LIMIT:
            self._by_id.clear()
        self._by_id[id(cell)] = (cell, width, laid)
        return laid

    def _wrap_equal(self, cell: Cell, width: float) -> LaidCell:
        key = (cell, width)
        laid = self._cells.get(key)
        if laid is None:
            if len(self._cells) > _CACHE_LIMIT:
                self._cells.clear()
            laid = self._cells[key] = LaidCell(
                tuple(line for paragraph in cell for line in self._wrap_paragraph(paragraph, width))
            )
        return laid

    def _wrap_paragraph(self, runs: tuple[Run, ...], width: float) -> list[Line]:
        """Greedy word wrap across runs; a word wider than the cell is broken by characters."""
        one_line = self._on_one_line(runs, width)
        return one_line if one_line is not None else self._word_wrap(runs, width)

    def _word_wrap(self, runs: tuple[Run, ...], width: float) -> list[Line]:
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
        return [tuple([(r[0], r[1], r[2], r[3]) for r in line]) for line in lines if line]

    def _on_one_line(self, runs: tuple[Run, ...], width: float) -> list[Line] | None:
        """The paragraph as the one line the word wrap would give, when it plainly fits (most
        cells: a date, a value, a source); None when it needs the word wrap.

        Runs hold single spaces (only a run after another may start with one), so the line is
        the runs' texts, those in the same face joined; a little room is kept so that a sum
        taken in another order cannot decide differently from the word wrap."""
        if not runs or runs[0][0][:1] == " ":
            return None
        if len(runs) == 1:  # most paragraphs: a value, a reference range, a source
            text, font, color = runs[0]
            if (
                not text
                or text[-1] == " "
                or "  " in text
                or self._width(text, font) > width - 0.01
            ):
                return None
            return [((0.0, text, font, color),)]
        total = 0.0
        line: list[tuple[float, str, str, str]] = []
        for text, font, color in runs:
            if not text or text[-1] == " " or "  " in text:
                return None
            if line and line[-1][2] == font and line[-1][3] == color:
                line[-1] = (line[-1][0], line[-1][1] + text, font, color)
            else:
                line.append((total, text, font, color))
            total += self._width(text, font)
        if total > width - 0.01:
            return None
        return [tuple(line)]

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
    """A table whose rows come from an iterator, laid out about a page ahead of where it is
    placed; split() hands on the rows not yet placed and the iterator, unread."""

    def __init__(
        self,
        look: TableLook,
        header: Sequence[str],
        rows: Iterable[Sequence[Cell]] = (),
        *,
        laid_rows: Iterable[LaidRow] | None = None,
        layout: TableLayout | None = None,
        _ahead: list[LaidRow] | None = None,
        _first: int = 0,
        _exhausted: bool = False,
    ) -> None:
        """The rows as cells, or `laid_rows` already laid out by `layout` (a caller that
        remembers its laid cells: a long record's rows are mostly cells seen before)."""
        super().__init__()
        self._header = header
        self._look = look
        self._layout = layout or TableLayout(look, header)
        self._source: Iterator[LaidRow] = (
            iter(laid_rows) if laid_rows is not None else map(self._layout.row, rows)
        )
        self._ahead: list[LaidRow] = _ahead or []  # laid out, not yet placed
        self._ahead_height = sum(height for _, height in self._ahead)
        self._first = _first  # the first waiting row's index in the whole table (zebra)
        self._exhausted = _exhausted

    def _laid_out(self) -> TableLayout:
        return self._layout

    def _read_ahead(self, height: float) -> None:
        """Lay out rows until those waiting are taller than `height`, or none are left."""
        while not self._exhausted and self._ahead_height <= height:
            row = next(self._source, None)
            if row is None:
                self._exhausted = True
                break
            self._ahead.append(row)
            self._ahead_height += row[1]

    def wrap(self, availWidth: float, availHeight: float) -> tuple[float, float]:
        header_height = self._laid_out().header[1]
        # One point past the room (more than the frame's fuzz): a table with rows still to
        # read reports itself taller than the frame, so the frame splits it.
        self._read_ahead(availHeight - header_height + 1.0)
        self.width = sum(self._look.col_widths)
        self.height = header_height + self._ahead_height
        return self.width, self.height

    def split(self, availWidth: float, availHeight: float) -> list[Flowable]:
        layout = self._laid_out()
        room = availHeight - layout.header[1]
        self._read_ahead(room + 1.0)
        used, count = 0.0, 0
        for _, height in self._ahead:  # the rows whose bottom is within reach
            if used + height > room:
                break
            used += height
            count += 1
        if count == 0 and self._ahead:
            frame = getattr(self, "_frame", None)  # set by the frame before it splits us
            if frame is None or not frame._atTop:
                return []  # not even one row fits: the frame moves to a new page
            # Rows never split, so one taller than an empty page is cut to fit.
            self._ahead_height -= self._ahead[0][1]
            self._ahead[0] = layout.shortened(self._ahead[0], availHeight)
            self._ahead_height += self._ahead[0][1]
            return self.split(availWidth, availHeight)
        if count == len(self._ahead) and self._exhausted:
            return [self]
        placed = RecordTable(
            self._look, self._header, laid_rows=(), layout=layout, _ahead=self._ahead[:count],
            _first=self._first, _exhausted=True,
        )  # fmt: skip
        rest = RecordTable(
            self._look, self._header, laid_rows=self._source, layout=layout,
            _ahead=self._ahead[count:], _first=self._first + count, _exhausted=self._exhausted,
        )  # fmt: skip
        return [placed, rest]

    def draw(self) -> None:
        layout = self._laid_out()
        look = self._look
        canv = self.canv
        width = sum(look.col_widths)
        top = self.height
        header_cells, header_height = layout.header
        canv.saveState()
        canv.setFillColor(look.header_fill)
        canv.rect(0, top - header_height, width, header_height, stroke=0, fill=1)
        # Zebra stripes and rules as one path each: canvas.rect and canvas.lines format every
        # number through reportlab's pure-Python fp_str, thousands of times per table.
        bottoms: list[float] = []
        y = top - header_height
        for _, height in self._ahead:
            y -= height
            bottoms.append(y)
        stripes = [
            f"0 {y:.2f} {width:.2f} {height:.2f} re"
            for n, ((_, height), y) in enumerate(zip(self._ahead, bottoms, strict=True))
            if (self._first + n) % 2 == 1
        ]
        canv.setFillColor(look.zebra)
        if stripes:
            canv.addLiteral("\n".join([*stripes, "f"]))
        canv.setStrokeColor(look.rule)
        canv.setLineWidth(0.3)
        right = f" m {width:.2f} "
        rules = [f"0 {y}{right}{y} l" for y in [f"{y:.2f}" for y in bottoms]]
        canv.addLiteral("\n".join([*rules, "S"]))
        ops = TextOps(layout, canv)
        ops.row(header_cells, top)
        y = top - header_height
        for cells, height in self._ahead:
            ops.row(cells, y)
            y -= height
        canv.addLiteral(ops.finish())
        canv.restoreState()
