"""Schema 8 rebuilds the search index with what a record is (kind, category, tags, facility,
year): a vault saved under schema 6 upgrades with its text and notes still searchable."""

from __future__ import annotations

import shutil
from pathlib import Path

from phr_desktop.services.terminology import search_vocabulary
from phr_desktop.vault.queries import RecordFilter, RecordQueries
from phr_desktop.vault.vault import Vault

SAVED = Path(__file__).resolve().parent.parent / "data" / "vaults" / "schema6"


def test_an_upgraded_vault_finds_records_by_kind_facility_and_its_old_notes(
    tmp_path: Path,
) -> None:
    folder = tmp_path / "schema6"
    shutil.copytree(SAVED, folder)
    with Vault.unlock(folder, passphrase="schema six passphrase") as vault:
        queries = RecordQueries(vault.conn, search_vocabulary())
        assert vault.conn.execute("SELECT count(*) FROM search_index").fetchone() == (436,)
        vaccines = {s.record.kind.value for s in queries.search("vaccines", 5)}
        assert vaccines == {"immunization"}
        hepatology = queries.search("hepatology visit", 3)
        assert hepatology[0].record.kind.value == "encounter"
        noted = queries.records(RecordFilter(text="written under schema 6"))
        assert [s.id for s in noted] == [1]
        assert vault.integrity_problems() == []
