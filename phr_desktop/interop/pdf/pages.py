"""What the record PDF draws once the whole record is laid out: "Page n of m" and the contents.

reportlab's TableOfContents needs multiBuild, which lays the whole record out two or three
times until the page numbers settle. Here each page is written out as soon as it is laid out
(its content compressed at once, so memory does not grow with every page's drawing operators),
and what only the end knows is added when the document is saved: "Page n of m" as a second
content stream of each page, and the contents' lines in a form XObject that the slot kept for
them already shows by name. The contents has one line per section, known before layout, so its links
are placed with the slot; they point at named destinations the sections bookmark later.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from isal import isal_zlib
from reportlab import rl_config
from reportlab.lib.colors import Color
from reportlab.lib.rl_accel import escapePDF
from reportlab.pdfbase.pdfdoc import (
    PDFArray,
    PDFBase85Encode,
    PDFDocument,
    PDFObject,
    PDFObjectReference,
    PDFPage,
    PDFResourceDictionary,
    PDFStream,
    PDFZCompress,
    format,
)
from reportlab.pdfbase.pdfmetrics import getFont, stringWidth
from reportlab.pdfgen.canvas import Canvas
from reportlab.platypus import Flowable

_CONTENTS_FORM = "phr-contents"
_SHARED_RESOURCES = "PhrPageResources"
# ISA-L (the zlib format, read by any PDF reader) at its level 2, not reportlab's zlib 6: a
# 3,000-page record's 29 MB of page operators compress in a third of zlib 3's time (0.07 s,
# not 0.2 s) into a file about 4 % larger.
_PAGE_COMPRESSION = 2


class _ReadyPage(PDFPage):
    """A page of the record, its dictionary written by one template at save: reportlab's
    generic formatting (each name and value through its codecs) of thousands of page
    dictionaries was most of the save of a long record. A page with anything more than the
    record draws (links, boxes, a transition) is formatted as reportlab does."""

    def format(self, document: PDFDocument) -> bytes:
        plain = self.Trans is None or not self.Trans.dict
        if not plain or any(getattr(self, name) not in (None, []) for name in _MORE_THAN_PLAIN):
            return bytes(super().format(document))
        self.check_format(document)  # the parent, and reportlab's defaults for the rest
        streams = self.Contents.sequence if isinstance(self.Contents, PDFArray) else [self.Contents]
        contents = b" ".join(document.Reference(s).format(document) for s in streams)
        parts = (
            b"<<\n/Contents [ %s ] /MediaBox %s /Parent %s /Resources %s /Rotate %d /Type /Page\n>>"
        )
        return parts % (
            contents,
            format(self.MediaBox, document),
            self.Parent.format(document),
            format(self.Resources, document),
            self.Rotate or 0,
        )


_MORE_THAN_PLAIN = (
    "CropBox", "Thumb", "Annots", "B", "Dur", "Hid", "AA", "PieceInfo", "LastModified",
    "SeparationInfo", "ArtBox", "TrimBox", "BleedBox", "ID", "PZ",
)  # fmt: skip


class _ReadyStream(PDFObject):
    """A page's content stream, compressed or not, written at save as it is. reportlab's
    PDFStream formats its dictionary through generic code at save: two of them on each of
    thousands of pages were a fifth of the save."""

    __RefOnly__ = 1  # an indirect object, as every stream must be

    def __init__(self, content: bytes, *, compressed: bool) -> None:
        self.content = content
        self.compressed = compressed

    def format(self, document: PDFDocument) -> bytes:
        content = document.encrypt.encode(self.content)
        head = b"<< /Filter [ /FlateDecode ] /Length " if self.compressed else b"<< /Length "
        return head + b"%d >>\nstream\n%s\nendstream\n" % (len(content), content)


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

    _code: list[str]  # reportlab's operators of the page (or form) being drawn

    def __init__(
        self,
        *args: Any,
        contents: Contents,
        number_at: tuple[float, float, str, float, Color],
        between: Callable[[], None] = lambda: None,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self._resources: PDFResourceDictionary | None = None
        self._resources_ref: PDFObjectReference | None = None
        self._media_boxes: dict[tuple[float, float], bytes] = {}
        self._contents = contents
        self._number_at = number_at  # right edge x, baseline y, font, size, colour
        self._between = between  # called as each page ends; may raise to stop the document

    def showPage(self) -> None:
        self._between()
        slot = self._contents.slot
        if slot is not None and slot[0] == self._pageNumber:
            self.saveState()
            _link_contents(self, self._contents)
            self.doForm(_CONTENTS_FORM)
            self.restoreState()
        super().showPage()
        page = self._doc.Pages.pages[-1]
        self._own_contents(page)
        self._share_resources(page)

    @staticmethod
    def _own_contents(page: PDFPage) -> None:
        """Make the page's operators its content stream now, compressed as reportlab would at
        save: the document keeps every page until then, and uncompressed they are several times
        the size of the PDF. save() then adds the page number as a second content stream."""
        content = page.stream or " "
        if page.compression and not rl_config.useA85:
            data = content.encode("utf-8") if isinstance(content, str) else content
            page.Contents = _ReadyStream(
                isal_zlib.compress(data, _PAGE_COMPRESSION), compressed=True
            )
        else:
            body = PDFStream(content=content)
            body.filters = [PDFBase85Encode, PDFZCompress] if page.compression else []
            page.Contents = body
        page.stream = None

    def _share_resources(self, page: PDFPage) -> None:
        """Every page names one resources object (the fonts, and the forms any page shows)
        and one MediaBox text, where reportlab formats both again at save for each page."""
        if page.ExtGState or page._colorsUsed or page._shadingUsed or page.Rotate in (90, 270):
            return  # not drawn here (a transparent colour, a turned page): its own
        if self._resources is None:
            self._resources = PDFResourceDictionary()
            self._resources.basicFonts()
            self._resources.allProcs()  # as reportlab gives every page (it may show images)
            self._resources_ref = self._doc.Reference(self._resources, _SHARED_RESOURCES)
        if page.XObjects:
            self._resources.XObject.update(page.XObjects.dict)
        size = (page.pagewidth, page.pageheight)
        box = self._media_boxes.get(size)
        if box is None:
            box = self._media_boxes[size] = format(PDFArray([0, 0, *size]), self._doc)
        page.Resources, page.MediaBox = self._resources_ref, box
        page.__class__ = _ReadyPage  # formatted at save by a template (see there)

    def _page_numbers(self) -> None:
        """Each page's "Page n of m", as a second content stream. Written by a template, not
        drawn through reportlab's canvas (a text object, its state saved and restored, every
        number formatted through fp_str): that was a sixth of a long record's save. The
        operators are those drawRightString gives (its leading and line move too: text
        extraction ends the page's text with that line's end)."""
        right, baseline, font_name, size, color = self._number_at
        pages = self._doc.Pages.pages
        font = getFont(font_name)
        r, g, b = color.rgb()
        head = f"q\n{r:.3f} {g:.3f} {b:.3f} rg\nBT 1 0 0 1 "
        tail = f" {baseline:.2f} Tm "
        leading = f" {size * 1.2:g} TL"
        for n, page in enumerate(pages, start=1):
            text = f"Page {n} of {len(pages)}"
            x = right - stringWidth(text, font_name, size)
            shown = " ".join(
                f"{font.getSubsetInternalName(subset, self._doc)} {size:g} Tf{leading}"
                f" ({escapePDF(chunk)}) Tj"
                for subset, chunk in font.splitString(text, self._doc)
            )
            footer = _ReadyStream(f"{head}{x:.2f}{tail}{shown} T* ET\nQ".encode(), compressed=False)
            page.Contents = PDFArray([page.Contents, footer])

    def save(self) -> None:
        self._page_numbers()
        self.beginForm(_CONTENTS_FORM)
        _draw_contents(self, self._contents)
        self.endForm()
        super().save()
