-- The event store: one append-only table. Rows are never updated or deleted.
--
-- Global order is (commit_id, position): commit_id is the appending transaction's id
-- (xid8), position a sequence value. Sequence values are taken before commit, so a
-- transaction can commit after another one that took a higher position; readers
-- therefore only read rows whose commit_id is below the oldest transaction still
-- running (pg_snapshot_xmin), where no row can appear any more, and order by the pair.
CREATE TABLE events (
    position       BIGINT GENERATED ALWAYS AS IDENTITY,
    commit_id      BIGINT NOT NULL DEFAULT (pg_current_xact_id()::text::bigint),
    stream_id      TEXT NOT NULL,
    category       TEXT NOT NULL,
    version        BIGINT NOT NULL CHECK (version >= 1),
    event_id       UUID NOT NULL,
    event_type     TEXT NOT NULL,
    schema_version INTEGER NOT NULL CHECK (schema_version >= 1),
    -- json, not jsonb: stored and returned as sent, at half the cost of jsonb on both
    -- ways; nothing queries inside events (projections are the query side).
    data           JSON NOT NULL,
    metadata       JSON NOT NULL,
    recorded_at    TIMESTAMPTZ NOT NULL DEFAULT now(),
    -- The global order, and the only index readers of the whole log need.
    CONSTRAINT events_pkey PRIMARY KEY (commit_id, position),
    CONSTRAINT events_event_id_key UNIQUE (event_id),
    -- Optimistic concurrency: two appends cannot both take a stream's next version.
    CONSTRAINT events_stream_version_key UNIQUE (stream_id, version)
);
-- No index on category: every index costs each append, and category readers walk the
-- primary key with a filter. Add one when a reader of a rare category needs it.

-- The log is append-only: refuse UPDATE, DELETE and TRUNCATE even from a careless operator.
CREATE FUNCTION events_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'the event log is append-only (% refused)', TG_OP
        USING ERRCODE = 'restrict_violation';
END $$;
CREATE TRIGGER events_no_update_delete BEFORE UPDATE OR DELETE ON events
    FOR EACH ROW EXECUTE FUNCTION events_append_only();
CREATE TRIGGER events_no_truncate BEFORE TRUNCATE ON events
    FOR EACH STATEMENT EXECUTE FUNCTION events_append_only();

-- Where each projection or consumer stands, written in the same transaction as its effects.
CREATE TABLE checkpoints (
    name       TEXT PRIMARY KEY,
    commit_id  BIGINT NOT NULL,
    position   BIGINT NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL DEFAULT now()
);

-- Answers already given to POST requests carrying an Idempotency-Key.
CREATE TABLE idempotency_keys (
    key          TEXT PRIMARY KEY,
    fingerprint  BYTEA NOT NULL,
    status       INTEGER,
    content_type TEXT,
    body         BYTEA,
    created_at   TIMESTAMPTZ NOT NULL DEFAULT now()
);
