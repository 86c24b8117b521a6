"""Schema 7: the profile's person (and the aliases the patient confirmed), and one fact once.

`records.fact_key` (a 64-bit hash of what makes two records the same fact) and
`records.same_as` (the record this one repeats; NULL for the one shown) are derived like the
rest of `records`, so a reindex rebuilds them; `record_splits` is the patient's own "these are
different", kept by record id, which a reindex keeps. Lists read only records with
`same_as IS NULL`, so the date and kind indexes become partial ones over those (the date
one also holds the kind: the timeline's buckets read only the index, so a second source's
records, which are not in it, cost the timeline nothing).

Existing records get their keys when the profile is next opened (`fact_links_pending`).
"""

SQL = """
CREATE TABLE person (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    data TEXT NOT NULL,                 -- JSON: names, birth_date, sex, identifiers
    colour TEXT,                        -- the profile's colour in the app's header band
    set_from TEXT NOT NULL,             -- created, import, sync, edited
    updated_at TEXT NOT NULL
);

CREATE TABLE person_aliases (           -- names (and birth dates) confirmed as this person's
    id INTEGER PRIMARY KEY,
    data TEXT NOT NULL,                 -- JSON: given, family, birth_date
    reason TEXT NOT NULL DEFAULT '',
    added_at TEXT NOT NULL
);

ALTER TABLE records ADD COLUMN fact_key INTEGER;
ALTER TABLE records ADD COLUMN same_as INTEGER;

CREATE INDEX records_by_fact ON records (fact_key) WHERE fact_key IS NOT NULL;
CREATE INDEX records_by_same_as ON records (same_as) WHERE same_as IS NOT NULL;
DROP INDEX records_by_date;
CREATE INDEX records_by_date ON records (sort_date, kind) WHERE same_as IS NULL;
DROP INDEX records_by_kind;
CREATE INDEX records_by_kind ON records (kind, sort_date) WHERE same_as IS NULL;

CREATE TABLE record_splits (            -- "these are different": never merged again
    record_id INTEGER NOT NULL,
    other_id INTEGER NOT NULL,
    created_at TEXT NOT NULL,
    PRIMARY KEY (record_id, other_id)
) WITHOUT ROWID;

INSERT INTO settings (key, value)
SELECT 'fact_links_pending', '1' WHERE EXISTS (SELECT 1 FROM records);
"""
