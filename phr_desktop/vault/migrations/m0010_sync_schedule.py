"""Schema 9: automatic sync and notices. Each connection's schedule (off, daily, weekly; a
connection without a row is daily), and the notices the patient is told about once: the ones
a sync leaves behind ("Riverside: 3 new results") wait in `notices` until shown, and the ones
worked out from the vault's state (access ending, a share expired) are marked shown there so
they are not repeated. Notice texts never hold health data (services/notices.py)."""

SQL = """
CREATE TABLE sync_schedules (
    connection_id INTEGER PRIMARY KEY REFERENCES connections(id) ON DELETE CASCADE,
    schedule TEXT NOT NULL CHECK (schedule IN ('off', 'daily', 'weekly'))
);
CREATE TABLE notices (
    key TEXT PRIMARY KEY,            -- what the notice is about, so it is told once
    text TEXT NOT NULL,
    created_at TEXT NOT NULL,
    shown_at TEXT                    -- NULL while it waits to be shown
);
"""
