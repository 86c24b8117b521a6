"""Schema 15: the fact-key index also holds `same_as`, so a fact's shown records are one
probe, however many repeats it has.

An import links each added record to the shown records of its fact before it writes it
(vault/fact_links.py). Over the index of `fact_key` alone that probe visited every record of
the key and read each one's row to test `same_as IS NULL`: with one person's files from many
sources (or the bench's Synthea patients, all "me"), a problem like "viral sinusitis" has
thousands of repeats, read again for every file that lists it, so linking cost grew with the
vault (4× per resource from 100k to 500k resources). With `same_as` in the key, SQLite seeks
straight to `(fact_key, NULL)`. Same name, so every query that used the old index uses this
one (its first column is the same).
"""

SQL = """
DROP INDEX records_by_fact;
CREATE INDEX records_by_fact ON records (fact_key, same_as) WHERE fact_key IS NOT NULL;
"""
