"""Schema 1: sources, raw resources (kept exactly), derived records, the patient's own data,
import jobs, the audit log and the full-text index."""

SQL = """
CREATE TABLE sources (
    id INTEGER PRIMARY KEY,
    kind TEXT NOT NULL,             -- fhir_file, smart, ccda, manual_entry, patient_upload, demo
    name TEXT NOT NULL,             -- the source system as the patient knows it
    detail TEXT NOT NULL DEFAULT '{}',
    created_at TEXT NOT NULL,
    UNIQUE (kind, name)
);

CREATE TABLE source_documents (     -- every file received, byte for byte, even if unparseable
    id INTEGER PRIMARY KEY,
    source_id INTEGER REFERENCES sources(id),
    filename TEXT NOT NULL,
    content_type TEXT NOT NULL,
    sha256 TEXT NOT NULL UNIQUE,
    size INTEGER NOT NULL,          -- of the original bytes
    compression TEXT,               -- NULL, or 'zlib' when that made it smaller
    data BLOB NOT NULL,
    received_at TEXT NOT NULL,
    parse_error TEXT
);

CREATE TABLE raw_resources (
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
    -- one index serves both the "same content twice" rule and lookups by resource id
    UNIQUE (source_id, resource_id, resource_type, sha256)
);

CREATE TABLE records (
    id INTEGER PRIMARY KEY,
    raw_id INTEGER NOT NULL UNIQUE REFERENCES raw_resources(id),
    source_id INTEGER NOT NULL REFERENCES sources(id),
    resource_type TEXT NOT NULL,
    resource_id TEXT NOT NULL,
    kind TEXT NOT NULL,
    category TEXT,
    title TEXT NOT NULL,
    effective TEXT,
    precision TEXT,
    sort_date TEXT,
    value_num REAL,
    value_text TEXT,
    unit TEXT,
    ref_low REAL,
    ref_high REAL,
    ref_text TEXT,
    interpretation TEXT,
    codes TEXT NOT NULL DEFAULT '[]',
    status TEXT,
    source_system TEXT,
    facility TEXT,
    encounter_ref TEXT,
    quality TEXT NOT NULL DEFAULT '[]'    -- one record per current raw resource (raw_id)
);
CREATE INDEX records_by_date ON records (sort_date);
CREATE INDEX records_by_kind ON records (kind, sort_date);

CREATE TABLE record_tags (
    tag TEXT NOT NULL,
    record_id INTEGER NOT NULL REFERENCES records(id) ON DELETE CASCADE,
    PRIMARY KEY (tag, record_id)
) WITHOUT ROWID;

CREATE TABLE notes (                -- the patient's own words, beside a record, never over it
    id INTEGER PRIMARY KEY,
    record_id INTEGER REFERENCES records(id),
    text TEXT NOT NULL,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE INDEX notes_by_record ON notes (record_id);

CREATE TABLE corrections (          -- "the lab got my value wrong": kept beside the original
    id INTEGER PRIMARY KEY,
    record_id INTEGER NOT NULL REFERENCES records(id),
    field TEXT NOT NULL,
    value TEXT NOT NULL,
    reason TEXT NOT NULL DEFAULT '',
    created_at TEXT NOT NULL
);

CREATE TABLE attachments (
    id INTEGER PRIMARY KEY,
    raw_id INTEGER REFERENCES raw_resources(id),
    record_id INTEGER REFERENCES records(id),
    filename TEXT NOT NULL,
    content_type TEXT NOT NULL,
    size INTEGER NOT NULL,
    sha256 TEXT NOT NULL,
    data BLOB NOT NULL,
    created_at TEXT NOT NULL
);

CREATE TABLE import_jobs (
    id INTEGER PRIMARY KEY,
    kind TEXT NOT NULL,
    label TEXT NOT NULL,
    status TEXT NOT NULL,           -- running, completed, failed, cancelled, interrupted
    started_at TEXT NOT NULL,
    finished_at TEXT,
    counts TEXT NOT NULL DEFAULT '{}',
    errors TEXT NOT NULL DEFAULT '[]'
);

CREATE TABLE audit_log (            -- append-only, HMAC-chained; never health data
    id INTEGER PRIMARY KEY,
    at TEXT NOT NULL,
    action TEXT NOT NULL,
    detail TEXT NOT NULL,
    mac TEXT NOT NULL
);

CREATE TABLE settings (
    key TEXT PRIMARY KEY,
    value TEXT NOT NULL
);

CREATE VIRTUAL TABLE search_index USING fts5 (
    title, codes, notes, body,
    tokenize = 'unicode61 remove_diacritics 2'
);
"""
