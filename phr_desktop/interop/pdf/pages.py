"""What the record PDF draws once the whole record is laid out: "Page n of m" and the contents.

reportlab's TableOfContents needs multiBuild, which lays the whole record out two or three
times until the page numbers settle. The contents here has one line per section, so its size
is known before layout: a slot is reserved, the record is laid out once, and the canvas draws
the lines into the slot when it writes the pages out at the end.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from reportlab.lib.colors import Color
from reportlab.pdfbase.pdfmetrics import stringWidth
from reportlab.pdfgen.canvas import Canvas
from reportlab.platypus import Flowable


@dataclass
class Contents:
    """Sections as they are placed (title, page, bookmark key), and where the list goes."""

    font: str
    size: float
    leading: float
    entries: list[tuple[str, int, str]] = field(default_factory=list)
    slot: tuple[int, float, float, float] | None = None  # page, x, top, width


class ContentsSlot(Flowable):
    """Keeps room for `lines` contents lines and notes where that room landed."""

    def __init__(self, contents: Contents, lines: int) -> None:
        super().__init__()
        self.contents = contents
        self.height = lines * contents.leading

    def wrap(self, availWidth: float, availHeight: float) -> tuple[float, float]:
        self.width = availWidth
        return availWidth, self.height

    def draw(self) -> None:
        x, top = self.canv.absolutePosition(0, self.height)
        self.contents.slot = (self.canv.getPageNumber(), x, top, self.width)


def _draw_contents(canv: Canvas, contents: Contents) -> None:
    if contents.slot is None:
        return
    _, x, top, width = contents.slot
    dot = stringWidth(" .", contents.font, contents.size)
    for n, (title, page, key) in enumerate(contents.entries):
        baseline = top - (n + 1) * contents.leading + contents.leading * 0.3
        number = str(page)
        number_w = stringWidth(number, contents.font, contents.size)
        title_w = stringWidth(title, contents.font, contents.size)
        dots = " ." * max(0, int((width - title_w - number_w - 12) // dot))
        # One text object per line, so text extraction reads "Trends . . . 3" as one line.
        line = canv.beginText()
        line.setFont(contents.font, contents.size)
        line.setTextOrigin(x, baseline)
        line.textOut(title)
        line.setTextOrigin(
            x + width - number_w - 6 - stringWidth(dots, contents.font, contents.size), baseline
        )
        line.textOut(dots)
        line.setTextOrigin(x + width - number_w, baseline)
        line.textOut(number)
        canv.drawText(line)
        canv.linkAbsolute(
            title, key, (x, baseline - 3, x + width, baseline + contents.size), thickness=0
        )


class RecordCanvas(Canvas):
    """Keeps each page until the last, then adds its number and, on its page, the contents."""

    def __init__(
        self,
        *args: Any,
        contents: Contents,
        number_at: tuple[float, float, str, float, Color],
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self._contents = contents
        self._number_at = number_at  # right edge x, baseline y, font, size, colour
        self._pages: list[dict[str, Any]] = []

    def showPage(self) -> None:
        self._pages.append(dict(self.__dict__))
        self._startPage()

    def save(self) -> None:
        total = len(self._pages)
        right, baseline, font, size, color = self._number_at
        slot_page = self._contents.slot[0] if self._contents.slot else None
        for state in self._pages:
            self.__dict__.update(state)
            self.saveState()
            if self._pageNumber == slot_page:
                _draw_contents(self, self._contents)
            self.setFont(font, size)
            self.setFillColor(color)
            self.drawRightString(right, baseline, f"Page {self._pageNumber} of {total}")
            self.restoreState()
            super().showPage()
        super().save()
