"""Schema 14: the shown records by timeline month and kind, for filters the counts table cannot
answer (words, dates, a tag).

Such a filter counts its matches per month and kind (vault/timeline.py). Over the date or
kind index that meant a temporary B-tree to group the matches and a cold walk of an index of
~45 bytes a record; this one is keyed by exactly the timeline's bucket expression, so SQLite
reads the groups in index order with no sort, over entries half as wide. The first "FEV1"
filter (75,000 matches of 500,000 records) went from ~231 to ~135 ms CPU cold. The expression
must stay identical to `BUCKET_SQL` (without the `r.` alias) or SQLite will not use it.
"""

SQL = """
CREATE INDEX records_by_bucket ON records (coalesce(substr(sort_date, 1, 7), ''), kind)
    WHERE same_as IS NULL;
"""
