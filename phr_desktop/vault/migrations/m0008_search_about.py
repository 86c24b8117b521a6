"""Schema 8: the search index gains `kind` and `about` columns, so a query may match what a
record is as well as what it says: its kind as words ("immunization", "lab result"; a column
of its own so "procedures" does not find lab results filed under a "procedure" category), and
in `about` its category, tags
("lung function", "liver"), facility and source system (where a specialty shows: "Riverside
Pulmonary Associates"), and year. An FTS5 table cannot gain a column, so it is rebuilt from
the old one (its text and notes kept) and the records table.
"""

SQL = """
CREATE VIRTUAL TABLE search_index_v8 USING fts5 (
    title, codes, kind, about, notes, body,
    tokenize = 'unicode61 remove_diacritics 2'
);

INSERT INTO search_index_v8 (rowid, title, codes, kind, about, notes, body)
SELECT s.rowid, s.title, s.codes, replace(r.kind, '_', ' '),
    coalesce(r.category, '') || ' '
        || coalesce((SELECT group_concat(replace(t.tag, '_', ' '), ' ') FROM record_tags t
                     WHERE t.record_id = r.id), '') || ' '
        || coalesce(r.facility, '') || ' ' || coalesce(r.source_system, '') || ' '
        || coalesce(substr(r.sort_date, 1, 4), ''),
    s.notes, s.body
FROM search_index s JOIN records r ON r.id = s.rowid;

DROP TABLE search_index;

ALTER TABLE search_index_v8 RENAME TO search_index;
"""
