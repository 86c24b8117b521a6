"""Write a large XML document piece by piece, byte for byte as lxml would pretty-print it whole.

A CCD of 500k records is gigabytes as an lxml tree. Here only the path of open elements (the
document, its body, one section, one table) is kept as a small scratch tree; each finished
child is serialized and dropped. lxml's own `xmlfile` cannot stand in: it re-declares the
namespaces on every element written and does not indent by depth, so its output would differ.

How each piece is made: the scratch tree holds the open path with exactly one child at its
end, and libxml2 serializes that whole (small) tree; the bytes before and after that child
are the same for every child, so cutting them off leaves the child as libxml2 writes it at that
depth, its namespace prefixes and indentation included. The bytes around it (the open path's
start and end tags, the separators) are cut from the same serializations, never spelt here.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import BinaryIO

from lxml import etree


@dataclass(frozen=True)
class _Level:
    """One open element and the bytes of the whole document around a child of it."""

    element: etree._Element
    before_child: bytes  # everything before a child of this element, its separator included
    after_child: bytes  # everything after it, every open element's end tag included
    separator: bytes  # the newline and indentation before each child
    start_written: bool


class PrettyXmlStream:
    """Writes `root` and everything added under it to `out` as
    `etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True)` would.

    Children are appended to `parent` (the innermost open element), then written by `flush()`
    (a finished child) or entered by `open(child)` (a child whose own children follow, none
    of them text). `close()` ends the innermost open element; closing the root ends the
    document. An element holding text (mixed content) is written whole, never opened.
    """

    def __init__(self, out: BinaryIO, root: etree._Element) -> None:
        if len(root) or root.text is not None:
            raise ValueError("the root is written as it is opened: give it no children yet")
        self._out = out
        self._levels: list[_Level] = []
        self._push(root)

    @property
    def parent(self) -> etree._Element:
        return self._levels[-1].element

    def flush(self) -> None:
        """Write every child now under `parent`, in order, and drop them."""
        parent = self.parent
        children = list(parent)
        if not children:
            return
        for child in children:
            parent.remove(child)
        self._write_pending_starts()
        level = self._levels[-1]
        for child in children:
            self._out.write(level.separator + self._alone(child))

    def open(self, element: etree._Element) -> None:
        """Enter `element`, the last child of `parent` (earlier children are written first).
        Its start tag is written with its first child, so an element left empty is written
        `<empty/>` as lxml would."""
        parent = self.parent
        if element.getparent() is not parent or parent[-1] is not element:
            raise ValueError("open the element last added to the innermost open element")
        if len(element) or element.text is not None:
            raise ValueError("an element is opened before anything is added to it")
        parent.remove(element)
        self.flush()
        parent.append(element)
        self._push(element)

    def close(self) -> None:
        """End the innermost open element (and, for the root, the document)."""
        self.flush()
        level = self._levels.pop()
        if not self._levels:  # the root
            if not level.start_written:
                self._out.write(etree.tostring(level.element, xml_declaration=True,
                                               encoding="UTF-8", pretty_print=True))  # fmt: skip
            else:
                self._out.write(level.after_child)
            return
        outer = self._levels[-1]
        outer.element.remove(level.element)
        if not level.start_written:  # nothing was written inside: <element/>
            self._write_pending_starts()
            self._out.write(outer.separator + self._alone(level.element))
        else:
            # The end of this element: what follows its children, less what follows it.
            self._out.write(level.after_child[: len(level.after_child) - len(outer.after_child)])

    # --- the serializations pieces are cut from ---------------------------------------------

    def _serialize(self) -> bytes:
        """The whole scratch tree: the open path, and the one child being written."""
        root = self._levels[0].element
        return bytes(
            etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True)
        )

    def _alone(self, child: etree._Element) -> bytes:
        """`child` as libxml2 writes it as the only child of `parent`, at this depth."""
        parent, level = self.parent, self._levels[-1]
        parent.append(child)
        try:
            whole = self._serialize()
        finally:
            parent.remove(child)
        return whole[len(level.before_child) : len(whole) - len(level.after_child)]

    def _push(self, element: etree._Element) -> None:
        # A placeholder child of known bytes shows where this element's children go.
        namespace = etree.QName(element).namespace
        marker = etree.SubElement(element, f"{{{namespace}}}x" if namespace else "x")
        written = b"<" + (f"{marker.prefix}:".encode() if marker.prefix else b"") + b"x/>"
        self._levels.append(_Level(element, b"", b"", b"", False))
        try:
            whole = self._serialize()
        finally:
            element.remove(marker)
        at = whole.index(written)
        before, after = whole[:at], whole[at + len(written) :]
        separator = before[before.rindex(b"\n") :]
        self._levels[-1] = _Level(element, before, after, separator, False)

    def _write_pending_starts(self) -> None:
        """Write the start tags of the open elements that have had no child written yet.

        A level's `before_child` is its parent's, then its own start tag, then its separator;
        so its start tag, with the separator before it, is cut from there."""
        for index, level in enumerate(self._levels):
            if level.start_written:
                continue
            outer = self._levels[index - 1] if index else None
            begin = len(outer.before_child) - len(outer.separator) if outer else 0
            end = len(level.before_child) - len(level.separator)
            self._out.write(level.before_child[begin:end])
            self._levels[index] = dataclasses.replace(level, start_written=True)
