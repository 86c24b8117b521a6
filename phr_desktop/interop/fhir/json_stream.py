"""Read a large FHIR Bundle or NDJSON file one entry at a time, so memory follows the entry,
not the file (a 52 MB Bundle of a million tiny entries took 4.8 GB read whole).

A Bundle's `entry` array is found by a scan that only knows strings and brackets; each entry's
own bytes then go through the same exact reader as a whole file does, so number literals stay
as written ("1e5", "-0" and 30-digit integers included: a streaming parser such as ijson hands
numbers back as Decimals and ints, which would store "1e5" as 1E+5 and "-0" as 0). What lies
between the entries is checked too, and the rest of the document is parsed on its own: a file
that is not JSON is refused here as it is by the whole-file reader.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import orjson

from phr_desktop.interop.errors import UnreadableFile
from phr_desktop.interop.fhir.fhir_json import (
    ParsedResource,
    check_size,
    flatten,
    is_ndjson,
    loads,
    parse_fhir_json,
    read_json,
)

# A file holding more resources than this is read entry by entry (counted by a cheap byte
# count of "resourceType", which can only overcount): below it, reading it whole is faster and
# its objects are a few tens of MB at most.
STREAM_MIN_RESOURCES = 20_000

_TOKEN = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*"|[\[\]{}]')
_QUOTE, _OPEN_OBJECT, _OPEN_ARRAY, _CLOSE_OBJECT = 0x22, 0x7B, 0x5B, 0x7D
_SPACE = b" \t\r\n"


def should_stream(data: bytes) -> bool:
    return data.count(b'"resourceType"') > STREAM_MIN_RESOURCES


def iter_fhir_json(data: bytes, name: str) -> Iterator[ParsedResource]:
    """The resources of parse_fhir_json, one at a time; UnreadableFile (possibly after some
    were given) says where the file breaks."""
    check_size(data, name)
    if is_ndjson(data):
        yield from _ndjson(data, name)
        return
    spans = _entry_spans(data, name)
    try:
        first = next(spans)
    except _NotABundle:
        yield from parse_fhir_json(data, name)
        return
    except StopIteration:
        return
    yield from _entry(data, first, name)
    for span in spans:
        yield from _entry(data, span, name)


def _ndjson(data: bytes, name: str) -> Iterator[ParsedResource]:
    start, number = 0, 0
    while start < len(data):
        end = data.find(b"\n", start)
        end = len(data) if end < 0 else end
        line = data[start:end]
        if line.strip():
            yield from flatten(read_json(line, name, line_offset=number), name)
        start, number = end + 1, number + 1


def _entry(data: bytes, span: tuple[int, int], name: str) -> Iterator[ParsedResource]:
    start, end = span
    try:
        entry = read_json(data[start:end], name)
    except UnreadableFile as exc:
        raise _moved(exc, data, start, name) from None
    resource = entry.get("resource") if isinstance(entry, dict) else None
    if isinstance(resource, dict) and isinstance(resource.get("resourceType"), str):
        yield from flatten(resource, name)


class _NotABundle(Exception):
    """Not a JSON object whose `entry` array follows `"resourceType": "Bundle"`."""


def _line_col(data: bytes, at: int) -> tuple[int, int]:
    return data.count(b"\n", 0, at) + 1, at - (data.rfind(b"\n", 0, at) + 1) + 1


def _moved(exc: UnreadableFile, data: bytes, start: int, name: str) -> UnreadableFile:
    """An error found in data[start:…] read alone, placed where it is in the file."""
    if exc.line is None or exc.column is None:
        return exc
    line, column = _line_col(data, start)
    if exc.line == 1:
        return UnreadableFile(name, line, column + exc.column - 1, exc.reason)
    return UnreadableFile(name, line + exc.line - 1, exc.column, exc.reason)


def _refuse(data: bytes, at: int, name: str, reason: str) -> UnreadableFile:
    line, column = _line_col(data, at)
    return UnreadableFile(name, line, column, reason)


def _entry_spans(data: bytes, name: str) -> Iterator[tuple[int, int]]:
    """(start, end) of each object in the top-level `entry` array; raises _NotABundle before
    giving any when the document is not a Bundle laid out so (then it is read whole)."""
    head = data.lstrip(_SPACE + b"\xef\xbb\xbf")[:1]
    if head != b"{":
        raise _NotABundle
    depth = 0
    key: bytes | None = None
    is_bundle = False
    array_open = array_close = -1
    entry_start, last_end, entries_before = -1, -1, False
    for match in _TOKEN.finditer(data):
        at = match.start()
        char = data[at]
        in_array = array_open >= 0 and array_close < 0
        if char == _QUOTE:
            if depth == 1 and not in_array:
                after = match.end()
                while after < len(data) and data[after] in _SPACE:
                    after += 1
                if data[after : after + 1] == b":":
                    key = match.group()
                elif key == b'"resourceType"':
                    is_bundle = match.group() == b'"Bundle"'
            continue
        if char in (_OPEN_OBJECT, _OPEN_ARRAY):
            if depth == 1 and key == b'"entry"' and char == _OPEN_ARRAY and array_open < 0:
                if not is_bundle and _top_level_type(data) != b'"Bundle"':
                    raise _NotABundle
                array_open = last_end = match.end()
                depth += 1
                continue
            if depth == 2 and in_array and char == _OPEN_OBJECT:
                _check_gap(data, last_end, at, entries_before, True, name)
                entry_start = at
            depth += 1
            continue
        depth -= 1
        if depth == 2 and in_array and entry_start >= 0:
            if char != _CLOSE_OBJECT:
                raise _refuse(data, at, name, "an object in Bundle.entry ends with ']'")
            yield entry_start, match.end()
            entry_start, last_end, entries_before = -1, match.end(), True
        elif depth == 1 and in_array:
            _check_gap(data, last_end, at, entries_before, False, name)
            array_close = at
        elif depth < 0:
            raise _refuse(data, at, name, "a closing bracket has no opening one")
    if array_open < 0:
        raise _NotABundle
    _check_outside_entries(data, array_open, array_close, name)


def _top_level_type(data: bytes) -> bytes | None:
    """The top-level "resourceType" value (quoted), for a document that puts it after
    "entry": one more scan, so such a Bundle is streamed too, not read whole."""
    depth, key = 0, None
    for match in _TOKEN.finditer(data):
        char = data[match.start()]
        if char == _QUOTE:
            if depth == 1:
                after = match.end()
                while after < len(data) and data[after] in _SPACE:
                    after += 1
                if data[after : after + 1] == b":":
                    key = match.group()
                elif key == b'"resourceType"':
                    return match.group()
            continue
        depth += 1 if char in (_OPEN_OBJECT, _OPEN_ARRAY) else -1
    return None


def _check_gap(
    data: bytes, start: int, end: int, after_entry: bool, before_entry: bool, name: str
) -> None:
    """What lies between two objects of Bundle.entry (or before the first, after the last)
    must be what JSON allows there: a comma, or other values (null, a number, an array) that
    the whole-file reader would pass over as it passes over them in the array."""
    gap = data[start:end]
    stripped = gap.strip(_SPACE)
    if stripped == (b"," if after_entry and before_entry else b""):
        return
    # A 0 stands for each entry beside the gap, set apart by a space: glued on, it would make
    # one number of a value at the gap's edge ("1.50" before an entry, read as "1.500").
    probe = (b"[0 " if after_entry else b"[") + gap + (b" 0]" if before_entry else b"]")
    try:
        orjson.loads(probe)
    except orjson.JSONDecodeError:
        raise _refuse(data, start, name, "Bundle.entry is not a JSON list") from None


def _check_outside_entries(data: bytes, array_open: int, array_close: int, name: str) -> None:
    if array_close < 0:
        raise _refuse(data, len(data), name, "the file ends inside Bundle.entry")
    skeleton = data[:array_open] + data[array_close:]
    try:
        outside: Any = loads(skeleton, name, False)
    except UnreadableFile as exc:
        if exc.line is None or exc.column is None:
            raise
        line_of_close = data.count(b"\n", 0, array_open) + 1
        if exc.line >= line_of_close:
            # Past the entries: shift by the lines they took.
            offset = data.count(b"\n", array_open, array_close)
            raise UnreadableFile(name, exc.line + offset, exc.column, exc.reason) from None
        raise
    if not isinstance(outside, dict) or outside.get("resourceType") != "Bundle":
        raise UnreadableFile(name, None, None, "this JSON is not a FHIR resource (no resourceType)")
