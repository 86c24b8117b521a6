"""A C-CDA narrative block (a section's `<text>`) as plain lines, for section notes and for the
readable, searchable text of a whole imported document.

Rendered the way a browser shows the XHTML-like narrative: whitespace collapses, paragraphs, list
items, captions and `<br/>` start new lines, and a table row is one line of cells joined by
" | " (header rows too, so the columns can be read). Text marked `revised="delete"` is left out.
"""

from __future__ import annotations

from collections.abc import Iterable

from lxml import etree

from phr_desktop.interop.ccda.values import attr, child, text_of

CELL_SEPARATOR = " | "
_BLOCKS = frozenset(
    {"paragraph", "item", "list", "caption", "table", "thead", "tbody", "tfoot", "footnote"}
)
_ROWS = frozenset({"tr"})
_CELLS = frozenset({"td", "th"})


class _Lines:
    """Lines being written: inline text gathers in `pending` until a block boundary."""

    def __init__(self) -> None:
        self.lines: list[str] = []
        self.pending: list[str] = []

    def flush(self) -> None:
        line = " ".join("".join(self.pending).split())
        self.pending.clear()
        if line:
            self.lines.append(line)


def _local(el: etree._Element) -> str:
    return etree.QName(el).localname


def _render(el: etree._Element, out: _Lines) -> None:
    if el.text:
        out.pending.append(el.text)
    for sub in el:
        if isinstance(sub.tag, str) and attr(sub, "revised") != "delete":
            local = _local(sub)
            if local == "br":
                out.flush()
            elif local in _ROWS:
                out.flush()
                _row(sub, out)
            elif local in _BLOCKS:
                out.flush()
                _render(sub, out)
                out.flush()
            else:
                _render(sub, out)
        if sub.tail:  # a comment's or deleted text's tail is still text of the parent
            out.pending.append(sub.tail)


def _row(tr: etree._Element, out: _Lines) -> None:
    cells = [
        "; ".join(narrative_lines(cell))
        for cell in tr
        if isinstance(cell.tag, str) and _local(cell) in _CELLS
    ]
    if any(cells):
        out.lines.append(CELL_SEPARATOR.join(cells).strip())


def narrative_lines(text: etree._Element | None) -> list[str]:
    """The non-empty lines of a narrative element (`<text>`, a table cell, a paragraph…)."""
    if text is None:
        return []
    out = _Lines()
    _render(text, out)
    out.flush()
    return out.lines


def section_text(section: etree._Element) -> str:
    """A section's narrative as plain text, one line per paragraph, row or list item."""
    return "\n".join(narrative_lines(child(section, "text")))


def cut_text(text: str, limit: int, note: str) -> str:
    """`text` when it fits in `limit` characters, else its first whole lines and `note`."""
    if len(text) <= limit:
        return text
    room = max(0, limit - len(note) - 1)
    head = text[:room]
    end = head.rfind("\n")
    return (head[:end] if end > 0 else head) + "\n" + note


def document_text(sections: Iterable[etree._Element], limit: int) -> str:
    """Every section's title and narrative in document order, blank lines between sections;
    cut at `limit` characters with a line that says so."""
    blocks: list[str] = []
    for section in sections:
        lines = narrative_lines(child(section, "text"))
        if not lines:
            continue
        title = text_of(child(section, "title")) or attr(child(section, "code"), "displayName")
        blocks.append("\n".join([title or "Section", *lines]))
    text = "\n\n".join(blocks)
    note = (
        f"[The text stops here: it is longer than {limit:,} characters. "
        "The whole document is kept in the vault as it came.]"
    )
    return cut_text(text, limit, note)
