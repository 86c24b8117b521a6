"""The one-pass exact reader: float literals kept as written, and no JSON accepted that orjson
refuses (where it cannot vouch for a result it says so, and the caller's reader decides)."""

from __future__ import annotations

import hashlib
import zlib
from decimal import Decimal

import orjson
import pytest

from phr_desktop.vault.prepared import pack_document
from phr_desktop.vault.raw_json import ExactDecimal, decode_exact, exact_big_ints


def test_a_float_orjson_would_rewrite_comes_as_its_literal_and_others_as_floats() -> None:
    value = decode_exact(b'{"a": 1.50, "b": 1.5, "c": 1e5, "d": 1e400, "e": 2.0}')
    assert value is not None
    assert isinstance(value["a"], ExactDecimal) and value["a"].literal == "1.50"
    assert type(value["b"]) is float and value["b"] == 1.5
    assert isinstance(value["c"], ExactDecimal) and value["c"].literal == "1e5"
    assert isinstance(value["d"], ExactDecimal) and value["d"].literal == "1e400"
    assert type(value["e"]) is float
    dumped = orjson.dumps(value, default=lambda d: orjson.Fragment(d.literal))
    assert dumped == b'{"a":1.50,"b":1.5,"c":1e5,"d":1e400,"e":2.0}'


@pytest.mark.parametrize("text", [b"[-0]", b'{"v": -0 }', b'{"v":[1,-0\n]}'])
def test_an_integer_minus_zero_is_left_to_the_exact_reader(text: bytes) -> None:
    # msgspec reads "-0" as 0: the literal would be lost.
    assert decode_exact(text) is None


@pytest.mark.parametrize(
    "text",
    [
        b'["\\ud800"]', b'["\\udc00\\ud800"]', b'["\xff"]', b'["\xed\xa0\x80"]',
        b'["\xc0\xaf"]', b'["a\nb"]', b'["a\x1fb"]', b"\xef\xbb\xbf[1]", b"[1,]",
        b'{"a":1,}', b"[1] x", b"[1]\x00", b"\x0c[1]", b"[NaN]", b"[Infinity]", b"[01]",
        b"[1.]", b"[.5]", b"[+1]", b"", b" ", b'{"a"}', b"{1:2}", b'["\\x"]', b"[tru]",
        b'{"a":[]}\n{"b":1}', b"\xa0[1]", b"[" * 5000 + b"]" * 5000, b"[" + b"1" * 5000 + b"]",
    ],
)  # fmt: skip
def test_what_orjson_refuses_the_one_pass_reader_does_not_vouch_for(text: bytes) -> None:
    with pytest.raises(orjson.JSONDecodeError):
        orjson.loads(text)
    assert decode_exact(text) is None


def test_integers_beyond_64_bits_become_exact_decimals_in_place() -> None:
    value = decode_exact(
        b'{"a": [18446744073709551616, 9223372036854775807], "b": {"c": -9223372036854775809}}'
    )
    assert value is not None
    exact_big_ints(value)
    assert (
        isinstance(value["a"][0], ExactDecimal) and value["a"][0].literal == "18446744073709551616"
    )
    assert value["a"][1] == 2**63 - 1 and type(value["a"][1]) is int
    assert value["b"]["c"] == Decimal(-(2**63) - 1)


def test_a_packed_file_reads_back_with_zlib_and_keeps_the_hash_of_its_bytes() -> None:
    data = b'{"resourceType":"Bundle","entry":[' + b'{"resource":{"id":"x"}},' * 500 + b"{}]}"
    packed = pack_document(data)
    assert packed.compression == "zlib" and len(packed.data) < len(data) // 10
    assert zlib.decompress(packed.data) == data and packed.size == len(data)
    assert packed.sha256 == hashlib.sha256(data).hexdigest()


def test_a_file_compression_does_not_shrink_is_kept_as_it_is() -> None:
    data = bytes(range(256))
    packed = pack_document(data)
    assert packed.compression is None and packed.data == data
