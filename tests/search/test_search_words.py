"""An import writes each record's search words (its kind, and `about`: category, tags,
facility, source system and year) itself, exactly as schema 8's migration derives them in SQL
from the stored records: a search finds the same records whichever wrote the index."""

from __future__ import annotations

from pathlib import Path

from phr_desktop.services.session import Session
from phr_desktop.vault.record_writes import search_words

# Schema 8's expression (m0008_search_about), over the records and tags as stored.
_DERIVED_IN_SQL = """
SELECT s.rowid, s.kind, s.about, replace(r.kind, '_', ' '),
    coalesce(r.category, '') || ' '
        || coalesce((SELECT group_concat(replace(t.tag, '_', ' '), ' ') FROM record_tags t
                     WHERE t.record_id = r.id), '') || ' '
        || coalesce(r.facility, '') || ' ' || coalesce(r.source_system, '') || ' '
        || coalesce(substr(r.sort_date, 1, 4), '')
FROM search_index s JOIN records r ON r.id = s.rowid ORDER BY s.rowid
"""


def test_imported_records_have_the_search_words_schema_8_derives_from_them(
    session: Session, demo_files: list[Path]
) -> None:
    session.import_paths(demo_files)
    session.import_paths(demo_files[:1], source_name="A second source")  # no meta.source
    rows = session.vault.conn.execute(_DERIVED_IN_SQL).fetchall()
    assert len(rows) == session.vault.conn.execute("SELECT count(*) FROM records").fetchone()[0]
    tagged = [row for row in rows if row[3] and len(row[4].split()) > 3]
    assert tagged, "the demo should have records with tags, a facility and a year"
    for rowid, kind, about, derived_kind, derived_about in rows:
        assert (kind, about) == (derived_kind, derived_about), rowid


def test_search_words_of_a_record_without_category_tags_facility_or_date() -> None:
    columns = [None] * 23
    columns[2] = "lab_result"
    assert search_words(columns, (), "Clinic") == ("lab result", "   Clinic ")
    columns[3], columns[7], columns[17] = "laboratory", "2019-03-04T10:00:00", "Lab Corp"
    assert search_words(columns, ("liver_function", "lung"), "Clinic") == (
        "lab result",
        "laboratory liver function lung Lab Corp Clinic 2019",
    )
