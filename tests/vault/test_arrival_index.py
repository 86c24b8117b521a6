"""Schema 12: an upgraded vault finds what arrived since a time through the arrival-time index,
not by reading every raw resource."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from phr_desktop.vault import summary_reads
from phr_desktop.vault.queries import RecordQueries
from phr_desktop.vault.summary_reads import SummaryReads
from phr_desktop.vault.vault import Vault

SAVED = Path(__file__).resolve().parent.parent / "data" / "vaults"


@pytest.mark.parametrize("saved", ["schema1", "schema6"])
def test_an_upgraded_vault_finds_new_arrivals_through_the_index(
    saved: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    passphrase = {"schema1": "schema one passphrase", "schema6": "schema six passphrase"}[saved]
    shutil.copytree(SAVED / saved, tmp_path / saved)
    monkeypatch.setattr(summary_reads, "_NEWEST_WINDOW", 0)  # straight to the index
    with Vault.unlock(tmp_path / saved, passphrase=passphrase) as vault:
        conn = vault.conn
        newest = conn.execute("SELECT max(fetched_at) FROM raw_resources").fetchone()[0]
        statements: list[str] = []
        conn.set_trace_callback(statements.append)
        found = SummaryReads(RecordQueries(conn)).newest_arrived_since(newest, 8)
        conn.set_trace_callback(None)
        expected = conn.execute(
            "SELECT r.id FROM records r JOIN raw_resources w ON w.id = r.raw_id "
            "WHERE w.fetched_at >= ? AND r.same_as IS NULL AND r.kind != 'patient' "
            "ORDER BY r.sort_date DESC, r.id DESC LIMIT 8",
            (newest,),
        ).fetchall()
        assert found == [row[0] for row in expected] and found
        by_arrival = [s for s in statements if "w.fetched_at >= " in s and "JOIN" in s]
        plan = " ".join(str(row) for row in conn.execute(f"EXPLAIN QUERY PLAN {by_arrival[0]}"))
        assert "raw_by_fetched_at" in plan
