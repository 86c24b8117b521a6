"""The one way to parse XML here: no entities, no DTDs, no network, no huge trees.

Every XML read in phr-desktop (C-CDA import, schema checks, iterparse) goes through these, so
a hostile file (external entities, billion laughs, a 100 MB text node) is refused, not obeyed.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from lxml import etree

from phr_desktop.interop.errors import UnreadableFile

MAX_XML_BYTES = 64 * 1024 * 1024


def safe_parser(*, recover: bool = False) -> etree.XMLParser:
    """The hardened parser; `recover` only for a second pass over XML whose sole faults are
    namespace ones (see parse_xml_recovering): entities, DTDs and the network stay off."""
    return etree.XMLParser(
        resolve_entities=False,
        no_network=True,
        load_dtd=False,
        dtd_validation=False,
        huge_tree=False,
        remove_comments=False,
        recover=recover,
    )


class MalformedXml(UnreadableFile):
    """XML refused by the parser, with the parser's own list of what was wrong."""

    def __init__(
        self, name: str, line: int | None, column: int | None, reason: str, faults: list[Any]
    ) -> None:
        super().__init__(name, line, column, reason)
        self.faults = faults


@dataclass(frozen=True)
class ParsedXml:
    tree: etree._ElementTree
    recovered: tuple[str, ...] = ()  # what was wrong with XML read in recovery, for a flag


def _only_namespace_faults(faults: list[Any]) -> bool:
    return bool(faults) and all(e.domain_name == "NAMESPACE" for e in faults)


def parse_xml_recovering(data: bytes, name: str) -> ParsedXml:
    """parse_xml, but XML that is well-formed yet not namespace-well-formed (one EHR declares
    `xmlns:schemaLocation="urn:hl7-org:v3 CDA.xsd"`, not a valid URI) is read in recovery
    with the same hardening, and says what it recovered from. Any other fault is refused."""
    try:
        return ParsedXml(parse_xml(data, name))
    except MalformedXml as refused:
        if not _only_namespace_faults(refused.faults):
            raise
        faults = tuple(dict.fromkeys(e.message.strip() for e in refused.faults))
    parser = safe_parser(recover=True)
    root = etree.fromstring(data, parser)
    if root is None:
        raise UnreadableFile(name, None, None, "; ".join(faults) or "malformed XML")
    # The faulty declarations are mostly unused ones (a stray xmlns:schemaLocation); dropping
    # unused declarations lets the tree be canonicalised (C14N) like any other.
    etree.cleanup_namespaces(root)
    return ParsedXml(etree.ElementTree(root), faults)


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
    parser = safe_parser()
    try:
        return etree.ElementTree(etree.fromstring(data, parser))
    except etree.XMLSyntaxError as exc:
        line, column = exc.position if exc.position else (None, None)
        reason = exc.msg or "malformed XML"
        faults = list(parser.error_log)  # this parse's own (exc.error_log may hold older ones)
        # A namespace fault is reported first; a worse one after it (a cut-off file) says more.
        worse = [e for e in faults if e.domain_name != "NAMESPACE"]
        if worse and faults[0].domain_name == "NAMESPACE":
            line, column, reason = worse[0].line, worse[0].column, worse[0].message
        raise MalformedXml(name, line, column, reason, faults) from None
