"""Schema 2: SMART on FHIR connections, their tokens, and per-type sync state."""

SQL = """
CREATE TABLE connections (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,          -- what the patient calls it ("Riverside (Epic)")
    fhir_base TEXT NOT NULL,
    client_id TEXT NOT NULL,
    source_id INTEGER NOT NULL REFERENCES sources(id),
    patient_id TEXT,
    scope TEXT NOT NULL DEFAULT '',     -- as granted
    status TEXT NOT NULL,               -- active, expired, disconnected
    smart_config TEXT NOT NULL DEFAULT '{}',
    created_at TEXT NOT NULL,
    last_sync_at TEXT,
    last_full_sync_started_at TEXT,
    last_error TEXT
);

CREATE TABLE tokens (                   -- inside the encrypted vault only, never elsewhere
    connection_id INTEGER PRIMARY KEY REFERENCES connections(id) ON DELETE CASCADE,
    access_token TEXT NOT NULL,
    refresh_token TEXT,
    expires_at REAL,                    -- epoch seconds
    id_token TEXT,
    updated_at TEXT NOT NULL
);

CREATE TABLE sync_state (
    connection_id INTEGER NOT NULL REFERENCES connections(id) ON DELETE CASCADE,
    resource_type TEXT NOT NULL,
    status TEXT NOT NULL,               -- ok, skipped, failed, running
    detail TEXT NOT NULL DEFAULT '',    -- why skipped or failed
    resume_url TEXT,                    -- the next page to fetch after an interrupted run
    run_started_at TEXT,
    run_full INTEGER NOT NULL DEFAULT 0,
    fetched INTEGER NOT NULL DEFAULT 0, -- resources received in the last (or current) run
    last_success_at TEXT,
    PRIMARY KEY (connection_id, resource_type)
);

CREATE TABLE sync_seen (                -- ids a running full sync has received, per type
    connection_id INTEGER NOT NULL,
    resource_type TEXT NOT NULL,
    resource_id TEXT NOT NULL,
    PRIMARY KEY (connection_id, resource_type, resource_id)
) WITHOUT ROWID;

ALTER TABLE raw_resources ADD COLUMN missing_since TEXT;  -- no longer returned by the server
"""
