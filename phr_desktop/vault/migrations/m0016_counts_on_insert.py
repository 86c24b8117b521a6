"""Schema 16: the records an import or a sync adds are counted into `timeline_counts` once per
batch by the store (vault/record_writes.py, `count_added`), not by a trigger per row.

The insert trigger of schema 12 ran a sub-program per shown record (an upsert into
`timeline_counts`): ~5 µs a record, ~0.35 s of the import writer's CPU per 100k resources,
for a few dozen distinct rows per file. `RecordStore._write_records` is the only statement
that inserts records, and it now adds the counts of the shown records it inserted in one
statement per batch. Updates and deletes (a new version of a record, a fact joined or split,
a source deleted) are still counted by the triggers of schema 12.
"""

SQL = """
DROP TRIGGER timeline_counts_insert;
"""
