"""A words filter's month counts (issue 16): read in the bucket index's order, not sorted.

A filter the counts table cannot answer (words, dates, a tag) counts its matches per month and
kind. Grouping them through a temporary B-tree over a wide index made the first, cold "FEV1"
filter at 500,000 records ~231 ms CPU; the index on the bucket expression (m0014) lets SQLite
read each group in order (~135 ms). The counts must not change with it.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from phr_desktop.services.session import RecordFilter, Session
from phr_desktop.vault import queries as queries_module

WORDS = "blood pressure"


def _statements_of(session: Session, read: object) -> list[str]:
    """The SQL (values bound) that `read()` ran on the vault's connection."""
    seen: list[str] = []
    session.vault.conn.set_trace_callback(seen.append)
    try:
        read()  # type: ignore[operator]
    finally:
        session.vault.conn.set_trace_callback(None)
    return seen


def test_a_words_filter_counts_its_months_from_the_bucket_index_without_sorting(
    session: Session, demo_files: list[Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    session.import_paths(demo_files)
    # As with many matches ("FEV1": 75,000): the demo's few would be read by id instead.
    monkeypatch.setattr(queries_module, "_MATCHES_READ_BY_ID", 0)
    words = RecordFilter(text=WORDS)
    ran = _statements_of(session, lambda: session.timeline_months(words))
    grouped = [sql for sql in ran if "GROUP BY" in sql and "FROM records r" in sql]
    assert len(grouped) == 1, ran
    plan = " | ".join(
        row[3] for row in session.vault.conn.execute(f"EXPLAIN QUERY PLAN {grouped[0]}")
    )
    assert "records_by_bucket" in plan, plan
    assert "TEMP B-TREE FOR GROUP BY" not in plan, plan


def test_a_words_filter_counts_each_month_as_its_listed_records(
    session: Session, demo_files: list[Path]
) -> None:
    session.import_paths(demo_files)
    words = RecordFilter(text=WORDS)
    ids = [stored.id for stored in session.records(words)]
    assert ids
    # The listed records' months, counted by the table itself (no index).
    by_table = session.vault.conn.execute(
        "SELECT coalesce(substr(sort_date, 1, 7), ''), count(*) FROM records NOT INDEXED "
        f"WHERE id IN ({','.join('?' * len(ids))}) GROUP BY 1",
        ids,
    )
    assert sorted(session.timeline_months(words)) == sorted(by_table)
