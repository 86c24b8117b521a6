"""Schema 6: raw_resources with a smaller unique index, so an import rewrites fewer index pages.

The index of schema 1, UNIQUE (source_id, resource_id, resource_type, sha256), held ~125 bytes
per resource. Resource ids are random (UUIDs), so every file's transaction dirtied most of its
leaf pages again: 12.8 MB of index at 100k resources, and ~235 MB of the 556 MB that importing
100k Synthea resources wrote to the WAL. The new index keeps both of its jobs, lookups by
resource id and the "same content twice" rule (on the first 64 bits of the content hash, and
without the type, which the hashed body already holds), at about a third of the size: the
import writes ~100 MB less.

A UNIQUE constraint cannot be dropped, so the table is rebuilt with the same columns, in the
same order, and the same ids (records and attachments point at them); `migrate` turns foreign
keys off around this one and checks them before it commits.
"""

SQL = """
CREATE TABLE raw_resources_v6 (
    id INTEGER PRIMARY KEY,
    source_id INTEGER NOT NULL REFERENCES sources(id),
    document_id INTEGER REFERENCES source_documents(id),
    resource_type TEXT NOT NULL,
    resource_id TEXT NOT NULL,
    version_id TEXT,
    last_updated TEXT,
    fetched_at TEXT NOT NULL,
    sha256 TEXT NOT NULL,
    body BLOB NOT NULL,
    is_current INTEGER NOT NULL DEFAULT 1,
    missing_since TEXT                  -- no longer returned by the server
);

INSERT INTO raw_resources_v6 (id, source_id, document_id, resource_type, resource_id,
    version_id, last_updated, fetched_at, sha256, body, is_current, missing_since)
SELECT id, source_id, document_id, resource_type, resource_id, version_id, last_updated,
    fetched_at, sha256, body, is_current, missing_since
FROM raw_resources ORDER BY id;

DROP TABLE raw_resources;

ALTER TABLE raw_resources_v6 RENAME TO raw_resources;

CREATE UNIQUE INDEX raw_by_resource
    ON raw_resources (source_id, resource_id, substr(sha256, 1, 16));
"""
