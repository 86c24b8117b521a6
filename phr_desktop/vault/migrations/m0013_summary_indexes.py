"""Schema 13: indexes for the summaries (milestones, the AATD overview, the dashboard), each
over what one narrow read asks (vault/summary_reads.py).

- Raw resources by arrival time, for "new since the last sync": without it that list read
  every raw resource (their bodies share the pages), 1.0 s at 100k records. Resources are
  stored in arrival order, so the index grows at its end.
- Text results by kind and text, for the genotype: the distinct texts are read from the
  index alone (0.7 s at 500k records from the table). Partial: only text-valued records
  shown one fact once (about a tenth of Synthea's).
- Visits and procedures by class, for admissions and surgery: partial over those two kinds
  (a fifth of Synthea's records); the query repeats the index's kind term so SQLite uses it.
"""

SQL = """
CREATE INDEX raw_by_fetched_at ON raw_resources (fetched_at);

CREATE INDEX records_by_text_value ON records (kind, value_text)
    WHERE same_as IS NULL AND value_text IS NOT NULL;

CREATE INDEX records_by_class ON records (kind, upper(category))
    WHERE same_as IS NULL AND kind IN ('encounter', 'procedure');
"""
