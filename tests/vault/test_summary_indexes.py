"""Schema 13: an upgraded vault answers the summaries' narrow reads through their indexes
(arrival time, text results, visit and procedure classes), with the same answers as a plain
query over every record."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from phr_desktop.vault import summary_reads
from phr_desktop.vault.queries import RecordQueries
from phr_desktop.vault.summary_reads import SummaryReads
from phr_desktop.vault.vault import Vault

SAVED = Path(__file__).resolve().parent.parent / "data" / "vaults"


PASSPHRASES = {"schema1": "schema one passphrase", "schema6": "schema six passphrase"}


@pytest.mark.parametrize("saved", sorted(PASSPHRASES))
def test_an_upgraded_vault_finds_new_arrivals_through_the_index(
    saved: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    passphrase = PASSPHRASES[saved]
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


@pytest.mark.parametrize("saved", sorted(PASSPHRASES))
def test_an_upgraded_vault_reads_text_results_and_classes_through_their_indexes(
    saved: str, tmp_path: Path
) -> None:
    shutil.copytree(SAVED / saved, tmp_path / saved)
    with Vault.unlock(tmp_path / saved, passphrase=PASSPHRASES[saved]) as vault:
        conn = vault.conn
        reads = SummaryReads(RecordQueries(conn))
        shown = "same_as IS NULL AND kind = 'lab_result' AND value_text IS NOT NULL"
        texts = sorted(reads.distinct_text_values("lab_result"))
        expected = conn.execute(f"SELECT DISTINCT value_text FROM records WHERE {shown}")
        assert texts == sorted(row[0] for row in expected) and texts
        newest = conn.execute(
            f"SELECT id FROM records WHERE {shown} AND value_text = ? "
            "ORDER BY sort_date DESC, id DESC LIMIT 1",
            (texts[0],),
        ).fetchone()[0]
        assert reads.newest_with_text_value("lab_result", texts[:1]) == newest
        classes = [
            row[0]
            for row in conn.execute(
                "SELECT DISTINCT category FROM records "
                "WHERE kind = 'encounter' AND category IS NOT NULL"
            )
        ]
        found = reads.ids_of_class("encounter", [c.lower() for c in classes])
        every = conn.execute(
            "SELECT id FROM records WHERE same_as IS NULL AND kind = 'encounter' "
            "AND category IS NOT NULL ORDER BY sort_date DESC, id DESC"
        ).fetchall()
        assert found == [row[0] for row in every] and found
        with pytest.raises(ValueError, match="lab_result"):
            reads.ids_of_class("lab_result", ["laboratory"])
