"""Counting the SQL statements that read raw bodies, for the exports' batching tests."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager

import sqlcipher3

RAW_BODY_READ = re.compile(r"\bFROM records r JOIN raw_resources w\b")


@contextmanager
def raw_body_reads(conn: sqlcipher3.Connection) -> Iterator[list[str]]:
    """Every statement reading raw bodies that `conn` runs inside the block, as it runs them."""
    seen: list[str] = []
    conn.set_trace_callback(lambda sql: seen.append(sql) if RAW_BODY_READ.search(sql) else None)
    try:
        yield seen
    finally:
        conn.set_trace_callback(None)
