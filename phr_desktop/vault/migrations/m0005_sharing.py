"""Schema 5: sharing. One ES256 signing key per profile, and the patient's sharing history.

`shares.key` holds a share's file key only while it has not been handed out (so the share can
still be revoked by forgetting the key); it is cleared when the key is shown or revoked.
"""

SQL = """
CREATE TABLE share_keys (
    kid TEXT PRIMARY KEY,
    private_jwk TEXT NOT NULL,
    created_at TEXT NOT NULL
);
CREATE TABLE shares (
    id TEXT PRIMARY KEY,
    label TEXT NOT NULL,
    created_at TEXT NOT NULL,
    expires_at TEXT NOT NULL,
    record_count INTEGER NOT NULL,
    selection TEXT NOT NULL,
    fingerprint TEXT NOT NULL,
    file_name TEXT NOT NULL,
    passcode INTEGER NOT NULL DEFAULT 0,
    key_handed_out INTEGER NOT NULL DEFAULT 0,
    revoked_at TEXT,
    key TEXT
);
CREATE INDEX shares_by_created ON shares (created_at);
"""
