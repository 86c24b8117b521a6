"""Hypothesis strategies that damage a valid input the ways real files get damaged: bytes cut,
dropped, doubled or flipped, and tokens a hostile or broken writer puts in."""

from __future__ import annotations

from hypothesis import strategies as st

JSON_TOKENS = [
    b"1e400", b"-1E+400", b"1e99999999999999999999", b"1" * 5000, b"-0", b"0.0000001",
    b"NaN", b"Infinity", b"null", b"true", b"[]", b"{}", b"[" * 300, b"]" * 300, b'"',
    b"\\", b'\\u0000', b"\x00", b"\xff\xfe", b",", b":", b'"resourceType":"Bundle"',
    b'"entry":[', b'{"resource":', b'"resourceType"', b"\n", b"\xef\xbb\xbf",
]  # fmt: skip
XML_TOKENS = [
    b"<!DOCTYPE x>", b'<!ENTITY e SYSTEM "file:///etc/passwd">', b"&e;", b"&amp;", b"<",
    b">", b"</", b"/>", b'xmlns:x="not a uri"', b'xmlns="urn:other"', b"<![CDATA[", b"]]>",
    b'value="1e400"', b'value="NaN"', b'value="' + b"9" * 5000 + b'"', b'nullFlavor="UNK"',
    b"<ClinicalDocument>", b"</section>", b"<entry>", b"\x00", b"\xff", b"<?xml-stylesheet?>",
    b'xsi:type="PQ"', b'xsi:type="bogus:TYPE"', b"<html>", b"<!-- ", b" -->",
]  # fmt: skip


@st.composite
def mutated(draw: st.DrawFn, seed: bytes, tokens: list[bytes]) -> bytes:
    data = bytearray(seed)
    for _ in range(draw(st.integers(1, 6))):
        at = draw(st.integers(0, len(data)))
        action = draw(st.sampled_from(["insert", "delete", "flip", "cut", "double"]))
        if action == "insert":
            data[at:at] = draw(st.sampled_from(tokens))
        elif action == "delete":
            del data[at : at + draw(st.integers(1, 64))]
        elif action == "flip" and at < len(data):
            data[at] = draw(st.integers(0, 255))
        elif action == "cut":
            del data[at:]
        elif action == "double":
            data[at:at] = data[at : at + draw(st.integers(1, 200))]
    return bytes(data)
