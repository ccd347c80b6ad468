-- The event store: one append-only table. Rows are never updated or deleted.
-- SQLite serialises writers, so rowid order is commit order: commit_id is always 0
-- and the global order (commit_id, position) is the position alone.
CREATE TABLE events (
    position       INTEGER PRIMARY KEY,
    commit_id      INTEGER NOT NULL DEFAULT 0,
    stream_id      TEXT NOT NULL,
    category       TEXT NOT NULL,
    version        INTEGER NOT NULL CHECK (version >= 1),
    event_id       BLOB NOT NULL,
    event_type     TEXT NOT NULL,
    schema_version INTEGER NOT NULL CHECK (schema_version >= 1),
    data           TEXT NOT NULL,
    metadata       TEXT NOT NULL,
    recorded_at    TEXT NOT NULL,
    CONSTRAINT events_event_id_key UNIQUE (event_id),
    CONSTRAINT events_stream_version_key UNIQUE (stream_id, version)
);


CREATE TRIGGER events_no_update BEFORE UPDATE ON events
BEGIN SELECT RAISE(ABORT, 'the event log is append-only (UPDATE refused)'); END;
CREATE TRIGGER events_no_delete BEFORE DELETE ON events
BEGIN SELECT RAISE(ABORT, 'the event log is append-only (DELETE refused)'); END;

CREATE TABLE checkpoints (
    name       TEXT PRIMARY KEY,
    commit_id  INTEGER NOT NULL,
    position   INTEGER NOT NULL,
    updated_at TEXT NOT NULL
);

-- Leader leases for singleton workers: a holder renews before expires_at (unix ms);
-- a standby takes the lease once it has expired.
CREATE TABLE leases (
    name       TEXT PRIMARY KEY,
    holder     TEXT NOT NULL,
    expires_at INTEGER NOT NULL
);

CREATE TABLE idempotency_keys (
    key          TEXT PRIMARY KEY,
    fingerprint  BLOB NOT NULL,
    status       INTEGER,
    content_type TEXT,
    body         BLOB,
    created_at   TEXT NOT NULL
);
