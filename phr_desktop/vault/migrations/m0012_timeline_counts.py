"""Schema 12: how many records the timeline shows per month, kind and source, kept on write.

The timeline's year/month counts, the filters by kind and source, and the list of sources
were each a pass over every shown record (at 500,000 records `SELECT DISTINCT source_system`
took 0.86 s and each count of months 0.2 s). `timeline_counts` holds those counts, a few
thousand rows at most: triggers on `records` keep it equal to a count over records with
`same_as IS NULL` (one fact once) through every insert, delete and update, so imports, syncs,
a source deleted, a fact split or joined and a reindex all keep it true with no code of their
own. Sensitivity is not in it: the few restricted records are subtracted when read.

`bucket` is `substr(sort_date, 1, 7)`: "2015-03" for a month, "2015" for a date with only a
year, '' for an undated record; `source_system` is '' for a record naming none (the normaliser
never stores an empty name).
"""

# The bucket and source of a record row (`new` or `old`), as stored here.
_BUCKET = "coalesce(substr({row}.sort_date, 1, 7), '')"
_SOURCE = "coalesce({row}.source_system, '')"
# An update moves a record between counts only when one of these changed.
_MOVED = (
    "old.same_as IS NOT new.same_as OR old.kind IS NOT new.kind "
    "OR old.source_system IS NOT new.source_system "
    "OR substr(old.sort_date, 1, 7) IS NOT substr(new.sort_date, 1, 7)"
)


def _count_in(row: str) -> str:
    return (
        "INSERT INTO timeline_counts (bucket, kind, source_system, shown) "
        f"VALUES ({_BUCKET.format(row=row)}, {row}.kind, {_SOURCE.format(row=row)}, 1) "
        "ON CONFLICT (bucket, kind, source_system) DO UPDATE SET shown = shown + 1;"
    )


def _count_out(row: str) -> str:
    return (
        "UPDATE timeline_counts SET shown = shown - 1 "
        f"WHERE bucket = {_BUCKET.format(row=row)} AND kind = {row}.kind "
        f"AND source_system = {_SOURCE.format(row=row)};"
    )


SQL = f"""
CREATE TABLE timeline_counts (
    bucket TEXT NOT NULL,
    kind TEXT NOT NULL,
    source_system TEXT NOT NULL,
    shown INTEGER NOT NULL,             -- records with same_as IS NULL; 0 rows are left in place
    PRIMARY KEY (bucket, kind, source_system)
) WITHOUT ROWID;

INSERT INTO timeline_counts (bucket, kind, source_system, shown)
SELECT {_BUCKET.format(row="records")}, kind, {_SOURCE.format(row="records")}, count(*)
FROM records WHERE same_as IS NULL GROUP BY 1, 2, 3;

CREATE TRIGGER timeline_counts_insert AFTER INSERT ON records
WHEN new.same_as IS NULL
BEGIN
    {_count_in("new")}
END;

CREATE TRIGGER timeline_counts_delete AFTER DELETE ON records
WHEN old.same_as IS NULL
BEGIN
    {_count_out("old")}
END;

CREATE TRIGGER timeline_counts_update_out AFTER UPDATE OF same_as, kind, source_system, sort_date
ON records
WHEN old.same_as IS NULL AND ({_MOVED})
BEGIN
    {_count_out("old")}
END;

CREATE TRIGGER timeline_counts_update_in AFTER UPDATE OF same_as, kind, source_system, sort_date
ON records
WHEN new.same_as IS NULL AND ({_MOVED})
BEGIN
    {_count_in("new")}
END;
"""
