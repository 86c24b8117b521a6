"""Reading JSON whose number literals must survive: the stored raw resources and what the
importers parse.

orjson is the fast path, but it refuses a literal no float can hold ("1e400") and rewrites
others ("1.50" as 1.5). Where that matters, numbers are read as `ExactDecimal`s that remember
their literal, so a value is shown, exported and shared as the source wrote it.
"""

from __future__ import annotations

import decimal
import functools
import json
import re
from typing import Any

import orjson

INT64 = range(-(2**63), 2**63)
INT64_DIGITS = 19


class ExactDecimal(decimal.Decimal):
    """A Decimal that remembers its literal: str(Decimal("1e5")) is "1E+5".

    A literal even a Decimal cannot hold (an exponent of a thousand digits) is NaN here, its
    literal kept: readers then treat it like "1e400", a number out of every range.
    """

    __slots__ = ("literal",)
    literal: str

    def __new__(cls, literal: str) -> ExactDecimal:
        try:
            value = super().__new__(cls, literal)
        except decimal.InvalidOperation:
            value = super().__new__(cls, "NaN")
        value.literal = literal
        return value


def exact_int(literal: str) -> int | decimal.Decimal:
    """An integer orjson would keep as it is, or else an ExactDecimal (no int() of 5,000
    digits: Python refuses those, and a float would not hold them)."""
    if len(literal.lstrip("-")) <= INT64_DIGITS:
        value = int(literal)
        if value in INT64 and not (value == 0 and literal.startswith("-")):
            return value
    return ExactDecimal(literal)


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def loads_exact(data: bytes | str) -> Any:
    """JSON with every number kept exactly (ExactDecimal where a float would change it).
    Raises json.JSONDecodeError (a ValueError) for text that is not JSON."""
    return json.loads(
        data, parse_float=ExactDecimal, parse_int=exact_int, parse_constant=_refuse_constant
    )


def _float_or_literal(literal: str) -> float | ExactDecimal:
    """A float where orjson writes it back as the source wrote it, else the literal kept."""
    value = float(literal)
    return value if orjson.dumps(value) == literal.encode() else ExactDecimal(literal)


@functools.cache
def _one_pass_reader() -> tuple[Any, tuple[type[Exception], ...]]:
    """msgspec's decoder, which hands every float literal's text to the hook: exact decimals
    in one C pass, without the byte scan and second parse the stdlib reader needs; and what
    it raises for text it refuses. It agrees with orjson on what is JSON
    (tests/vault/test_raw_json.py); where it refuses, the caller's own reader gives the
    message. Loaded on first use: importing msgspec takes 20-50 ms that opening the app need
    not pay (tests/ui/test_start_imports.py)."""
    import msgspec

    refused = (msgspec.MsgspecError, ValueError, RecursionError)  # ValueError: bad UTF-8
    return msgspec.json.Decoder(float_hook=_float_or_literal), refused


# The one integer literal msgspec changes ("-0" reads as 0); a match inside a string only
# sends the document to the slower reader.
_NEGATIVE_ZERO = re.compile(rb"-0(?=\s*[,\]}])")


def decode_exact(data: bytes) -> Any | None:
    """JSON with every float literal kept exactly (ExactDecimal where a float would change
    it), in one pass; None when this reader cannot vouch for the result: text it refuses
    (malformed, not UTF-8, nested too deep for it, an integer of thousands of digits) or an
    integer "-0". Integers come as Python ints, however large: `exact_big_ints` turns those
    beyond 64 bits into ExactDecimals, as `loads_exact` reads them."""
    if _NEGATIVE_ZERO.search(data):
        return None
    decoder, refused = _one_pass_reader()
    try:
        return decoder.decode(data)
    except refused:
        return None


def exact_big_ints(value: Any) -> None:
    """Replace, in place, every integer beyond 64 bits in `value` by its ExactDecimal (what
    `loads_exact` gives for such a literal; an int's text is its JSON literal)."""
    stack = [value]
    while stack:
        node = stack.pop()
        items = node.items() if isinstance(node, dict) else enumerate(node)
        for key, item in items:
            if isinstance(item, dict | list):
                stack.append(item)
            elif type(item) is int and item not in INT64:
                node[key] = ExactDecimal(str(item))


def load_raw(body: bytes) -> Any:
    """A stored raw resource: orjson's speed, unless it holds a number a float cannot hold."""
    try:
        return orjson.loads(body)
    except orjson.JSONDecodeError:
        return loads_exact(body)


def decimal_fragment(value: Any) -> Any:
    """orjson's `default` for Decimals: the literal as read (or as the Decimal writes it)."""
    if isinstance(value, decimal.Decimal):
        return orjson.Fragment(getattr(value, "literal", None) or str(value))
    raise TypeError(f"cannot store {type(value).__name__}")
