"""Schema 12: raw resources by arrival time, for the dashboard's "new since the last sync".

Without it that list read every raw resource (their bodies share the pages): 1.0 s at 100k
records. Resources are stored in arrival order, so the index grows at its end: an import
writes few extra pages.
"""

SQL = """
CREATE INDEX raw_by_fetched_at ON raw_resources (fetched_at);
"""
