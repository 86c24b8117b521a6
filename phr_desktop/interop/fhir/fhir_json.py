"""Read FHIR JSON files (a Bundle of any type, a single resource, or NDJSON) into resources.

Each resource comes with the exact JSON text to store: values and number literals are kept as
the source wrote them ("1.50" stays "1.50"; only insignificant whitespace may change). The
whole file is kept byte for byte by the caller as the source document.
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from hashlib import sha256
from typing import Any

import orjson

from phr_desktop.interop.errors import UnreadableFile
from phr_desktop.vault.raw_json import (
    INT64,
    INT64_DIGITS,
    decimal_fragment,
    decode_exact,
    exact_big_ints,
    loads_exact,
)

MAX_FILE_BYTES = 512 * 1024 * 1024
# Real FHIR is < 20 levels deep. The parsers stop hostile nesting without blowing the stack
# (orjson at 1024 levels, the stdlib at the recursion limit) and orjson will not write more
# than 254 levels, so that is the effective cap for a stored resource.
MAX_NESTING = 254


@dataclass(frozen=True, slots=True)
class ParsedResource:
    resource: dict[str, Any]
    body: bytes  # the resource's JSON text, values exactly as in the source
    sha256: str

    @property
    def resource_type(self) -> str:
        return str(self.resource.get("resourceType"))

    @property
    def resource_id(self) -> str:
        rid = self.resource.get("id")
        # A resource without an id can still be kept; its content hash identifies it.
        return rid if isinstance(rid, str) and rid else f"sha256-{self.sha256[:32]}"


def fitted(dumped: bytes) -> bytes:
    """A copy of orjson's output of its own size: orjson.dumps hands back its 4 KiB working
    buffer even for a 60-byte resource, so a million kept bodies held 4 GB (measured)."""
    return bytes(memoryview(dumped))


def _resource(resource: dict[str, Any], name: str, fit: bool = True) -> ParsedResource:
    body = fitted(_dump(resource, name)) if fit else _dump(resource, name)
    return ParsedResource(resource, body, sha256(body).hexdigest())


# Number literals orjson may write back differently: those with a fraction or an exponent
# ("1.50", "1e5", "0.0000001"), integers beyond 64 bits and "-0". Scanning for them starts
# from a literal byte ('.', 'e', 'E', '-'), which re finds several times faster than a
# character class, and finds few places to check; a match inside a string ("12:00:36.75",
# "urn:uuid:4e6a…") is dropped because it does not stand where a value does. Integers are only
# lossy from 19 digits on: digits are mapped to one byte so a plain find spots such runs.
_CANDIDATES = tuple(
    re.compile(pattern)
    for pattern in (
        rb"\.\d+(?:[eE][-+]?\d+)?(?=\s*[,\]}])",
        rb"e[-+]?\d+(?=\s*[,\]}])",
        rb"E[-+]?\d+(?=\s*[,\]}])",
        rb"-0(?=\s*[,\]}])",
    )
)
_DIGITS_AS_ZERO = bytes.maketrans(b"123456789", b"000000000")
_LONG_INTEGER = b"0" * 19
_LITERAL_BYTES = frozenset(b"0123456789.eE+-")
_SPACE = frozenset(b" \t\r\n")
_VALUE_BEFORE = frozenset(b":,[")
_VALUE_AFTER = frozenset(b",]}")


def _is_lossy(literal: bytes) -> bool:
    """Whether orjson would change this literal: "1.50", "1e5", 20 digits, an integer > 64 bits,
    "-0", or one no float can hold ("1e400")."""
    try:
        if b"." not in literal and b"e" not in literal and b"E" not in literal:
            if len(literal.lstrip(b"-")) > INT64_DIGITS:
                return True  # past 64 bits, and int() would refuse 4,300 digits and more
            value = int(literal)
            return value not in INT64 or (value == 0 and literal.startswith(b"-"))
        return orjson.dumps(float(literal)) != literal
    except ValueError:  # not a number after all ("1-2"); the parser will judge the JSON
        return False


def _literal_around(data: bytes, start: int, end: int) -> tuple[bool, int]:
    """Whether data[start:end] lies in a number literal standing as a value that is lossy,
    and where that literal ends, so that a scan goes on from there and reads every byte of a
    long literal once, not once per candidate in it."""
    while start > 0 and data[start - 1] in _LITERAL_BYTES:
        start -= 1
    while end < len(data) and data[end] in _LITERAL_BYTES:
        end += 1
    before, after = start, end
    while before > 0 and data[before - 1] in _SPACE:
        before -= 1
    while after < len(data) and data[after] in _SPACE:
        after += 1
    if before == 0 or data[before - 1] not in _VALUE_BEFORE:
        return False, end
    if after == len(data) or data[after] not in _VALUE_AFTER:
        return False, end
    return _is_lossy(data[start:end]), end


def has_lossy_numbers(data: bytes) -> bool:
    """Linear in the size of `data`: every candidate inside a literal already judged is
    skipped."""
    for pattern in _CANDIDATES:
        judged_to = 0
        for match in pattern.finditer(data):
            if match.start() < judged_to:
                continue
            lossy, judged_to = _literal_around(data, match.start(), match.end())
            if lossy:
                return True
    return _has_long_integer(data)


def _has_long_integer(data: bytes) -> bool:
    """Whether `data` holds an integer literal beyond 64 bits (19 digits or more first)."""
    digits = data.translate(_DIGITS_AS_ZERO)
    found = digits.find(_LONG_INTEGER)
    while found >= 0:
        lossy, judged_to = _literal_around(data, found, found + len(_LONG_INTEGER))
        if lossy:
            return True
        found = digits.find(_LONG_INTEGER, max(judged_to, found + len(_LONG_INTEGER)))
    return False


def _dump(resource: dict[str, Any], name: str) -> bytes:
    """The resource's JSON text, in orjson's own buffer (see `fitted`). An integer beyond 53
    bits stops the first try: the resource then has those beyond 64 bits (which
    `decode_exact` reads as ints) made ExactDecimals, as `loads_exact` reads them, before it
    is written; the rare case pays, not every resource."""
    try:
        return orjson.dumps(resource, default=decimal_fragment, option=_STRICT_INTEGER)
    except orjson.JSONEncodeError:
        exact_big_ints(resource)
    try:
        return orjson.dumps(resource, default=decimal_fragment)
    except orjson.JSONEncodeError as exc:
        reason = (
            f"a resource is nested more than {MAX_NESTING} levels deep"
            if "recursion" in str(exc).lower()
            else f"a resource holds a value that cannot be stored ({exc})"
        )
        raise UnreadableFile(name, None, None, reason) from None


_STRICT_INTEGER = orjson.OPT_STRICT_INTEGER


def _error_position(exc: json.JSONDecodeError) -> tuple[int, int]:
    return exc.lineno, exc.colno


def loads(data: bytes, name: str, exact: bool, line_offset: int = 0) -> Any:
    try:
        if exact:
            return loads_exact(data)
        return orjson.loads(data)
    except json.JSONDecodeError as exc:  # orjson's error is a subclass
        line, col = _error_position(exc)
        raise UnreadableFile(name, line + line_offset, col, exc.msg) from None
    except RecursionError:
        raise UnreadableFile(name, None, None, "the JSON is nested too deeply") from None
    except UnicodeDecodeError as exc:
        raise UnreadableFile(name, None, None, f"not UTF-8 text ({exc.reason})") from None
    except ValueError as exc:  # NaN or Infinity, which JSON does not have
        raise UnreadableFile(name, None, None, str(exc)) from None


def read_json(data: bytes, name: str, line_offset: int = 0) -> Any:
    """One JSON document with number literals kept as written (integers beyond 64 bits may
    come as ints: `_dump` makes them exact). The one-pass reader first; where it cannot vouch
    for the result, the scan and the reader of before, whose result or message stands."""
    value = decode_exact(data)
    if value is None:
        return loads(data, name, has_lossy_numbers(data), line_offset)
    return value


def flatten(
    value: Any, name: str, release: bool = False, fit: bool = True
) -> Iterator[ParsedResource]:
    """The resources of `value`; with `release`, each Bundle entry is taken out of the tree as
    it is given, so the tree shrinks while the caller's output grows (peak memory). Without
    `fit`, each body is orjson's own buffer (see `fitted`): for a caller that lets go of the
    bodies at once (the import's worker pickles them 64 at a time), not one that keeps them."""
    if not isinstance(value, dict) or not isinstance(value.get("resourceType"), str):
        raise UnreadableFile(name, None, None, "this JSON is not a FHIR resource (no resourceType)")
    if value["resourceType"] != "Bundle":
        yield _resource(value, name, fit)
        return
    entries = value.get("entry") or []
    if not isinstance(entries, list):
        raise UnreadableFile(name, None, None, "Bundle.entry is not a list")
    for index, entry in enumerate(entries):
        if release:
            entries[index] = None
        resource = entry.get("resource") if isinstance(entry, dict) else None
        if not isinstance(resource, dict):
            continue
        kind = resource.get("resourceType")
        if kind == "Bundle":
            yield from flatten(resource, name, release, fit)
        elif isinstance(kind, str):
            yield _resource(resource, name, fit)


def resources_of(value: Any, name: str) -> list[ParsedResource]:
    """The resources of a document already read by `load_json_exact`, flattened exactly as
    `parse_fhir_json` does (a Bundle's entries, nested Bundles opened, or the resource)."""
    return list(flatten(value, name))


def load_json_exact(data: bytes, name: str) -> Any:
    """Any JSON document with number literals kept as written (Decimal where a float would
    change them); pair with `dump_json_exact`. One C pass, and a byte scan for integers
    beyond 64 bits (which the one-pass reader gives as ints)."""
    value = decode_exact(data)
    if value is None or _has_long_integer(data):
        return loads(data, name, has_lossy_numbers(data))
    return value


def keep_number_literals(data: bytes, parsed: Any, name: str, key: str | None = None) -> Any:
    """`parsed` (what orjson made of `data`, or of its member `key`), unless `data` holds a
    number literal a float would change: then that part of `data` read exactly. The common
    case costs one scan, not a second parse."""
    if not has_lossy_numbers(data):
        return parsed
    exact = loads(data, name, True)
    return exact if key is None else exact[key]


def dump_json_exact(value: Any, name: str = "resource") -> bytes:
    """JSON text for a value read by `load_json_exact`, Decimal literals as they were."""
    return fitted(_dump(value, name))


_NOT_SPACE = re.compile(rb"[^ \t\r\n\f\v]")


def is_ndjson(data: bytes) -> bool:
    head = data.lstrip()[:1]
    if head != b"{":
        return False
    first_line_end = data.find(b"\n")
    # Nothing after the first line: a one-line document (checked first: parsing that line
    # would parse the whole document once more).
    if first_line_end < 0 or not _NOT_SPACE.search(data, first_line_end):
        return False
    try:
        orjson.loads(data[:first_line_end])
    except orjson.JSONDecodeError:
        return False
    return True


def check_size(data: bytes, name: str) -> None:
    if len(data) > MAX_FILE_BYTES:
        raise UnreadableFile(
            name, None, None, f"the file is larger than {MAX_FILE_BYTES // 2**20} MiB"
        )


def parse_fhir_json(data: bytes, name: str) -> list[ParsedResource]:
    """All resources in a FHIR JSON or NDJSON document; UnreadableFile says where it breaks."""
    check_size(data, name)
    if is_ndjson(data):
        out: list[ParsedResource] = []
        for number, line in enumerate(data.splitlines()):
            if line.strip():
                out.extend(flatten(read_json(line, name, line_offset=number), name))
        return out
    return list(flatten(read_json(data, name), name))


def iter_parse_fhir_json(data: bytes, name: str, fit: bool = True) -> Iterator[ParsedResource]:
    """`parse_fhir_json` a resource at a time, letting go of what is given: a Bundle's entries
    are read one by one from its text (`_bundle_entries`), and the file's bytes are let go of
    after its last entry (when the caller holds no other reference). An import's worker so
    never holds the whole tree, nor the whole output at once. UnreadableFile may come part
    way."""
    check_size(data, name)
    if is_ndjson(data):
        lines = data.splitlines()
        del data
        for number, line in enumerate(lines):
            lines[number] = b""
            if line.strip():
                yield from flatten(read_json(line, name, line_offset=number), name, fit=fit)
        return
    entries = _bundle_entries(data)
    if entries is None:  # not a Bundle, or not one the splitter vouches for: read it whole
        value = read_json(data, name)
        del data
        yield from flatten(value, name, release=True, fit=fit)
        return
    for index, raw in enumerate(entries):
        entries[index] = None
        try:
            entry = read_json(bytes(raw), name)
        except UnreadableFile:
            read_json(data, name)  # the whole file's reader says where it breaks in the file
            raise
        del raw
        yield from flatten(
            {"resourceType": "Bundle", "entry": [entry]}, name, release=True, fit=fit
        )


@functools.cache
def _bundle_splitter() -> Any:
    """msgspec's decoder of a Bundle's outline: its entries as raw JSON text, checked but not
    read into objects (loaded on first use, as in raw_json)."""
    import msgspec

    outline = msgspec.defstruct(  # defined here, as msgspec is: no annotations to resolve
        "Outline", [("resourceType", str), ("entry", list[msgspec.Raw] | None, None)]
    )
    return msgspec.json.Decoder(outline), (msgspec.MsgspecError, ValueError, RecursionError)


def _bundle_entries(data: bytes) -> list[Any] | None:
    """A Bundle's entries as raw JSON text, each read when its turn comes: reading the whole
    tree at once held ~3 times the file in objects (a 18 MB file: ~54 MB), and allocating
    them cost more CPU than reading the entries one by one (measured: 0.23-0.32 s against
    0.12-0.19 s). The splitter checks the whole text (a malformed entry or trailing text is
    refused) except its strings' UTF-8, which each entry's reader then checks. None for
    anything else (another resource, a malformed file, Bundle.entry not a list): the whole
    file is read as before, and its reader gives the message."""
    decoder, refused = _bundle_splitter()
    try:
        outline = decoder.decode(data)
    except refused:
        return None
    if outline.resourceType != "Bundle":
        return None
    return list(outline.entry or ())
