"""The one way to parse XML here: no entities, no DTDs, no network, no huge trees.

Every XML read in phr-desktop (C-CDA import, schema checks, iterparse) goes through these, so
a hostile file (external entities, billion laughs, a 100 MB text node) is refused, not obeyed.
"""

from __future__ import annotations

from lxml import etree

from phr_desktop.interop.errors import UnreadableFile

MAX_XML_BYTES = 64 * 1024 * 1024


def safe_parser() -> etree.XMLParser:
    return etree.XMLParser(
        resolve_entities=False,
        no_network=True,
        load_dtd=False,
        dtd_validation=False,
        huge_tree=False,
        remove_comments=False,
    )


def parse_xml(data: bytes, name: str) -> etree._ElementTree:
    """Parse untrusted XML; UnreadableFile says where and why it was refused."""
    if len(data) > MAX_XML_BYTES:
        raise UnreadableFile(
            name, None, None, f"the file is larger than {MAX_XML_BYTES // 2**20} MiB"
        )
    if b"<!DOCTYPE" in data[:4096].upper() or b"<!ENTITY" in data.upper():
        # C-CDA never needs a DTD; a DOCTYPE or ENTITY is how entity attacks start.
        raise UnreadableFile(
            name, None, None, "the XML declares a DTD or entities, which are refused"
        )
    try:
        return etree.ElementTree(etree.fromstring(data, safe_parser()))
    except etree.XMLSyntaxError as exc:
        line, column = exc.position if exc.position else (None, None)
        raise UnreadableFile(name, line, column, exc.msg or "malformed XML") from None
