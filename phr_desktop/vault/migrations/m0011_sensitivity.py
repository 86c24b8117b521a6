"""Schema 9: sensitivity labels and who each record was shared with.

`records.source_sensitivity` is derived from the raw resource (FHIR `meta.security`
confidentiality R or V: restricted), so a reindex keeps it; the patient's own label lives in
`record_labels`, beside the record like notes and tags, and wins. Existing records are read
from their raw resources here once.

A share now records its recipient type and whether the clinician's viewer may save attached
files, and `share_records` lists the records each share held (for "shared with" in a record's
detail). Shares made before this version have no list: their records are not known.
"""

SQL = """
ALTER TABLE records ADD COLUMN source_sensitivity TEXT NOT NULL DEFAULT 'normal';

UPDATE records SET source_sensitivity = 'restricted'
WHERE raw_id IN (
    SELECT w.id FROM raw_resources w,
        json_each(CASE WHEN instr(w.body, 'security') > 0 AND json_valid(CAST(w.body AS TEXT))
                  THEN CAST(w.body AS TEXT) END, '$.meta.security') s
    WHERE json_extract(s.value, '$.code') IN ('R', 'V')
      AND (json_extract(s.value, '$.system') IS NULL
           OR json_extract(s.value, '$.system') LIKE '%Confidentiality')
);

-- the few records a source marked restricted, found without a scan
CREATE INDEX records_restricted ON records (id) WHERE source_sensitivity = 'restricted';

CREATE TABLE record_labels (
    record_id INTEGER PRIMARY KEY REFERENCES records(id) ON DELETE CASCADE,
    sensitivity TEXT NOT NULL CHECK (sensitivity IN ('normal', 'sensitive', 'restricted')),
    set_at TEXT NOT NULL
);

ALTER TABLE shares ADD COLUMN recipient_type TEXT NOT NULL DEFAULT 'provider';
ALTER TABLE shares ADD COLUMN allow_save INTEGER NOT NULL DEFAULT 1;

CREATE TABLE share_records (
    share_id TEXT NOT NULL REFERENCES shares(id) ON DELETE CASCADE,
    record_id INTEGER NOT NULL REFERENCES records(id) ON DELETE CASCADE,
    PRIMARY KEY (record_id, share_id)
) WITHOUT ROWID;
"""
