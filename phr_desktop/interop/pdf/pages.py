"""What the record PDF draws once the whole record is laid out: "Page n of m" and the contents.

reportlab's TableOfContents needs multiBuild, which lays the whole record out two or three
times until the page numbers settle. Here each page is written out as soon as it is laid out
(its content compressed at once, so memory does not grow with every page's drawing operators),
and what only the end knows is drawn in form XObjects that the pages show by name and that are
defined when the document is saved: "Page n of m" on each page, and the contents' lines in the
slot kept for them. The contents has one line per section, known before layout, so its links
are placed with the slot; they point at named destinations the sections bookmark later.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from reportlab import rl_config
from reportlab.lib.colors import Color
from reportlab.pdfbase.pdfdoc import PDFArray, PDFName, PDFStream, PDFZCompress
from reportlab.pdfbase.pdfmetrics import stringWidth
from reportlab.pdfgen.canvas import Canvas
from reportlab.platypus import Flowable

_CONTENTS_FORM = "phr-contents"
_PAGE_NUMBER_FORM = "phr-page-number-"


@dataclass
class Contents:
    """Sections as they are placed (title, page, bookmark key), and where the list goes.

    `titles` are the sections planned before layout, in order: the n-th is bookmarked as
    `key(n)` when it is placed."""

    font: str
    size: float
    leading: float
    titles: list[str] = field(default_factory=list)
    entries: list[tuple[str, int, str]] = field(default_factory=list)
    slot: tuple[int, float, float, float] | None = None  # page, x, top, width

    @staticmethod
    def key(n: int) -> str:
        return f"section-{n}"

    def baseline(self, n: int) -> float:
        """Where the n-th line sits in the slot, in page coordinates."""
        assert self.slot is not None
        return self.slot[2] - (n + 1) * self.leading + self.leading * 0.3


class ContentsSlot(Flowable):
    """Keeps room for a line per planned section and notes where that room landed."""

    def __init__(self, contents: Contents) -> None:
        super().__init__()
        self.contents = contents
        self.height = len(contents.titles) * contents.leading

    def wrap(self, availWidth: float, availHeight: float) -> tuple[float, float]:
        self.width = availWidth
        return availWidth, self.height

    def draw(self) -> None:
        x, top = self.canv.absolutePosition(0, self.height)
        self.contents.slot = (self.canv.getPageNumber(), x, top, self.width)


def _link_contents(canv: Canvas, contents: Contents) -> None:
    assert contents.slot is not None
    _, x, _, width = contents.slot
    for n, title in enumerate(contents.titles):
        baseline = contents.baseline(n)
        canv.linkAbsolute(
            title,
            Contents.key(n),
            (x, baseline - 3, x + width, baseline + contents.size),
            thickness=0,
        )


def _draw_contents(canv: Canvas, contents: Contents) -> None:
    if contents.slot is None:
        return
    _, x, _, width = contents.slot
    dot = stringWidth(" .", contents.font, contents.size)
    for n, (title, page, _key) in enumerate(contents.entries):
        baseline = contents.baseline(n)
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


class RecordCanvas(Canvas):
    """Writes each page out when it ends; numbers the pages and fills the contents at save."""

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
        self._pages = 0

    def showPage(self) -> None:
        self._pages += 1
        self.saveState()
        slot = self._contents.slot
        if slot is not None and slot[0] == self._pageNumber:
            _link_contents(self, self._contents)
            self.doForm(_CONTENTS_FORM)
        self.doForm(f"{_PAGE_NUMBER_FORM}{self._pageNumber}")
        self.restoreState()
        super().showPage()
        self._compress_last_page()

    def _compress_last_page(self) -> None:
        """Compress the page's operators now, as reportlab would at save: the document keeps
        every page until then, and uncompressed they are several times the size of the PDF."""
        page = self._doc.Pages.pages[-1]
        if not page.compression or rl_config.useA85 or page.Contents or not page.stream:
            return
        stream = PDFStream(content=PDFZCompress.encode(page.stream))
        stream.dictionary["Filter"] = PDFArray([PDFName(PDFZCompress.pdfname)])
        stream.__Comment__ = "page stream"
        page.Contents, page.stream = stream, None

    def save(self) -> None:
        right, baseline, font, size, color = self._number_at
        for number in range(1, self._pages + 1):
            self.beginForm(f"{_PAGE_NUMBER_FORM}{number}")
            self.setFont(font, size)
            self.setFillColor(color)
            self.drawRightString(right, baseline, f"Page {number} of {self._pages}")
            self.endForm()
        self.beginForm(_CONTENTS_FORM)
        _draw_contents(self, self._contents)
        self.endForm()
        super().save()
