"""The database's half of its binding to the header (see `vault/binding.py`); one row, written
with the data key by the vault, not by this script."""

SQL = """
CREATE TABLE vault_binding (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    profile_id TEXT NOT NULL,
    database_id TEXT NOT NULL,
    mac TEXT NOT NULL
);
"""
