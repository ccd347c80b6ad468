-- The event store: one append-only table. Rows are never updated or deleted.
--
-- Global order is (commit_id, position): commit_id is the appending transaction's id
-- (xid8), position a sequence value. Sequence values are taken before commit, so a
-- transaction can commit after another one that took a higher position; readers
-- therefore only read rows whose commit_id is below the oldest transaction still
-- running (pg_snapshot_xmin), where no row can appear any more, and order by the pair.
CREATE TABLE events (
    position       BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    commit_id      BIGINT NOT NULL DEFAULT (pg_current_xact_id()::text::bigint),
    stream_id      TEXT NOT NULL,
    category       TEXT NOT NULL,
    version        BIGINT NOT NULL CHECK (version >= 1),
    event_id       UUID NOT NULL,
    event_type     TEXT NOT NULL,
    schema_version INTEGER NOT NULL CHECK (schema_version >= 1),
    data           JSONB NOT NULL,
    metadata       JSONB NOT NULL,
    recorded_at    TIMESTAMPTZ NOT NULL DEFAULT now(),
    CONSTRAINT events_event_id_key UNIQUE (event_id),
    CONSTRAINT events_stream_version_key UNIQUE (stream_id, version)
);

CREATE INDEX events_commit_position_idx ON events (commit_id, position);
CREATE INDEX events_category_commit_position_idx ON events (category, commit_id, position);

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

-- One round trip per append: idempotency check, expected-version check and insert.
-- p_expected: NULL = any, 0 = no stream, -1 = stream exists, n > 0 = exactly n.
-- Returns status 'ok' | 'duplicate' | 'wrong_version' with the stream's version after
-- the append (or its actual version) and the last event's (commit_id, position).
-- A concurrent writer that takes the same version makes the insert fail on
-- events_stream_version_key; the caller maps that to a wrong expected version.
CREATE FUNCTION pharos_append(
    p_stream_id TEXT,
    p_category TEXT,
    p_expected BIGINT,
    p_event_ids UUID[],
    p_event_types TEXT[],
    p_schema_versions INTEGER[],
    p_data JSONB[],
    p_metadata JSONB
) RETURNS TABLE (status TEXT, stream_version BIGINT, commit_id BIGINT, last_position BIGINT)
LANGUAGE plpgsql AS $$
DECLARE
    v_current BIGINT;
    v_found   BIGINT;
BEGIN
    -- A retry of an append that already committed: answer with the original result.
    SELECT count(*), max(e.version), max(e.commit_id), max(e.position)
      INTO v_found, stream_version, commit_id, last_position
      FROM events e
     WHERE e.event_id = ANY (p_event_ids) AND e.stream_id = p_stream_id;
    IF v_found = cardinality(p_event_ids) THEN
        status := 'duplicate';
        RETURN NEXT;
        RETURN;
    END IF;

    SELECT coalesce(max(e.version), 0) INTO v_current FROM events e WHERE e.stream_id = p_stream_id;
    IF (p_expected = 0 AND v_current <> 0)
       OR (p_expected = -1 AND v_current = 0)
       OR (p_expected > 0 AND v_current <> p_expected) THEN
        status := 'wrong_version';
        stream_version := v_current;
        commit_id := NULL;
        last_position := NULL;
        RETURN NEXT;
        RETURN;
    END IF;

    WITH inserted AS (
        INSERT INTO events (stream_id, category, version, event_id, event_type, schema_version, data, metadata)
        SELECT p_stream_id, p_category, v_current + u.ord, u.id, u.t, u.sv, u.d, p_metadata
          FROM unnest(p_event_ids, p_event_types, p_schema_versions, p_data) WITH ORDINALITY AS u(id, t, sv, d, ord)
         ORDER BY u.ord
        RETURNING events.position
    )
    SELECT max(i.position) INTO last_position FROM inserted i;

    status := 'ok';
    stream_version := v_current + cardinality(p_event_ids);
    commit_id := pg_current_xact_id()::text::bigint;
    RETURN NEXT;
END $$;

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
