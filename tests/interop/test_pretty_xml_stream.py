"""A document written piece by piece is byte for byte the one lxml pretty-prints whole."""

from __future__ import annotations

import io

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from lxml import etree

from phr_desktop.interop.pretty_xml_stream import PrettyXmlStream

V3 = "urn:hl7-org:v3"
XSI = "http://www.w3.org/2001/XMLSchema-instance"
SDTC = "urn:hl7-org:sdtc"
NSMAP = {None: V3, "xsi": XSI, "sdtc": SDTC}


def whole(root: etree._Element) -> bytes:
    return bytes(etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True))


def streamed(tree: etree._Element, *, open_every: bool = True) -> bytes:
    """`tree` rebuilt under a PrettyXmlStream as an exporter builds it: each element made in
    place under the open path; those with element children only are opened (or, with
    `open_every` False, only the first level), the rest written whole."""
    out = io.BytesIO()
    stream = PrettyXmlStream(out, etree.Element(tree.tag, dict(tree.attrib), nsmap=tree.nsmap))

    def copy_into(parent: etree._Element, source: etree._Element) -> etree._Element:
        element = etree.SubElement(parent, source.tag, dict(source.attrib))
        element.text, element.tail = source.text, source.tail
        for child in source:
            copy_into(element, child)
        return element

    def walk(source: etree._Element, depth: int) -> None:
        for child in source:
            # Text, even empty, makes mixed content (libxml2 indents none of it).
            openable = len(child) and child.text is None and all(c.tail is None for c in child)
            if openable and (open_every or depth == 0):
                stream.open(etree.SubElement(stream.parent, child.tag, dict(child.attrib)))
                walk(child, depth + 1)
                stream.close()
            else:
                copy_into(stream.parent, child)
                stream.flush()

    walk(tree, 0)
    stream.close()
    return out.getvalue()


def sub(parent: etree._Element, tag: str, text: str | None = None, **attrs: str) -> etree._Element:
    element = etree.SubElement(parent, tag, attrs)
    element.text = text
    return element


def a_document() -> etree._Element:
    root = etree.Element(f"{{{V3}}}ClinicalDocument", nsmap=NSMAP)
    sub(root, f"{{{V3}}}title", 'Zoë\'s record: <all> & "more"')
    patient = sub(sub(root, f"{{{V3}}}recordTarget"), f"{{{V3}}}patient")
    sub(patient, f"{{{SDTC}}}raceCode", code="2054-5")
    body = sub(sub(root, f"{{{V3}}}component"), f"{{{V3}}}structuredBody")
    section = sub(sub(body, f"{{{V3}}}component"), f"{{{V3}}}section", nullFlavor="NI")
    sub(section, f"{{{V3}}}text")  # empty
    table = sub(sub(section, f"{{{V3}}}text"), f"{{{V3}}}table", border="1")
    tbody = sub(table, f"{{{V3}}}tbody")
    sub(table, f"{{{V3}}}tfoot")  # an opened element that stays empty
    for n in range(3):
        row = sub(tbody, f"{{{V3}}}tr", ID=f"row-{n}")
        sub(row, f"{{{V3}}}td", f"line one\nline two {n}")
        sub(row, f"{{{V3}}}td", title="a\nnewline and a\ttab")
    paragraph = sub(section, f"{{{V3}}}paragraph", "Felt well.")
    sub(paragraph, f"{{{V3}}}br").tail = "Walked the dog."
    value = sub(sub(section, f"{{{V3}}}entry"), f"{{{V3}}}value")
    value.set(f"{{{XSI}}}type", "PQ")
    deep = section
    for _ in range(40):  # deeper than libxml2 indents (it stops adding indentation)
        deep = sub(deep, f"{{{V3}}}component")
    sub(deep, f"{{{V3}}}leaf", "bottom")
    return root


@pytest.mark.parametrize("open_every", [True, False], ids=["open-every-level", "write-whole"])
def test_a_document_written_in_pieces_is_the_one_lxml_writes_whole(open_every: bool) -> None:
    document = a_document()
    assert streamed(document, open_every=open_every) == whole(document)


def test_a_root_with_nothing_in_it_is_an_empty_element() -> None:
    root = etree.Element(f"{{{V3}}}ClinicalDocument", nsmap=NSMAP)
    assert streamed(root) == whole(root)


def test_only_the_element_just_added_can_be_opened_and_only_while_empty() -> None:
    stream = PrettyXmlStream(io.BytesIO(), etree.Element("root"))
    first = etree.SubElement(stream.parent, "first")
    etree.SubElement(stream.parent, "second")
    with pytest.raises(ValueError, match="last added"):
        stream.open(first)
    third = etree.SubElement(stream.parent, "third")
    third.text = "mixed content is written whole"
    with pytest.raises(ValueError, match="before anything is added"):
        stream.open(third)


_names = st.sampled_from([f"{{{V3}}}a", f"{{{V3}}}b", f"{{{SDTC}}}c", f"{{{XSI}}}d"])
_text = st.one_of(st.none(), st.text(st.characters(codec="utf-8", exclude_categories=["Cs", "Cc"])
                                     | st.sampled_from("\n\t"), max_size=8))  # fmt: skip


@st.composite
def _trees(draw: st.DrawFn, depth: int = 0) -> etree._Element:
    element = etree.Element(draw(_names))
    if draw(st.booleans()):
        element.set("value", draw(_text) or "")
    element.text = draw(_text) if draw(st.booleans()) else None
    if depth < 4:
        for _ in range(draw(st.integers(0, 3))):
            child = draw(_trees(depth + 1))
            child.tail = draw(_text) if draw(st.integers(0, 4)) == 0 else None
            element.append(child)
    return element


@settings(max_examples=150, deadline=None)
@given(_trees())
def test_any_tree_written_in_pieces_is_the_one_lxml_writes_whole(body: etree._Element) -> None:
    root = etree.Element(f"{{{V3}}}ClinicalDocument", nsmap=NSMAP)
    root.append(body)
    assert streamed(root) == whole(root)
