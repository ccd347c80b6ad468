-- The read model (`read-model` target): tables projected from the event store, written
-- only by its projector (batch and checkpoint in one transaction), read by GraphQL.
-- Identifiers, dates and instants are text (instants in UTC, RFC 3339, so that text
-- order is time order) and the schema is the same on both backends. They can be dropped
-- and rebuilt from the log at any time.
CREATE TABLE rm_schools (
    uai                TEXT PRIMARY KEY,
    name               TEXT NOT NULL,
    kind               TEXT NOT NULL,
    sector             TEXT NOT NULL,
    department         TEXT NOT NULL,
    commune            TEXT NOT NULL,
    circonscription    TEXT,
    priority_education TEXT NOT NULL,
    closed_on          TEXT,
    successor_uai      TEXT,
    -- Name, commune and UAI, lower-cased without accents: what text search reads.
    search             TEXT NOT NULL
);
CREATE INDEX rm_schools_department_idx ON rm_schools (department, name);

CREATE TABLE rm_trainings (
    id          TEXT PRIMARY KEY,
    title       TEXT NOT NULL,
    topic       TEXT NOT NULL,
    audience    TEXT NOT NULL,
    department  TEXT,
    search      TEXT NOT NULL
);

CREATE TABLE rm_sessions (
    id                      TEXT PRIMARY KEY,
    training_id             TEXT NOT NULL,
    department              TEXT,
    starts_at               TEXT NOT NULL,
    ends_at                 TEXT NOT NULL,
    status                  TEXT NOT NULL,
    capacity                BIGINT NOT NULL,
    planned_minutes         BIGINT NOT NULL,
    location                TEXT,
    recorded_after_the_fact BOOLEAN NOT NULL
);
CREATE INDEX rm_sessions_training_idx ON rm_sessions (training_id, starts_at);

-- Registrations without their person: counts by status and school.
CREATE TABLE rm_registrations (
    id         TEXT PRIMARY KEY,
    session_id TEXT NOT NULL,
    status     TEXT NOT NULL,
    school_uai TEXT
);
CREATE INDEX rm_registrations_session_idx ON rm_registrations (session_id, status);

CREATE TABLE rm_deployments (
    id                TEXT PRIMARY KEY,
    school_year       TEXT NOT NULL,
    school_uai        TEXT,
    circonscription   TEXT,
    department        TEXT NOT NULL,
    charter_signed_on TEXT,
    coordinator       BOOLEAN NOT NULL,
    protocol_presented_on TEXT,
    learning_hours    BIGINT,
    parent_workshops  BIGINT NOT NULL
);
CREATE INDEX rm_deployments_year_idx ON rm_deployments (school_year, department);

CREATE TABLE rm_team_members (
    id            TEXT PRIMARY KEY,
    deployment_id TEXT NOT NULL,
    trained       BOOLEAN NOT NULL,
    mpp_trained   BOOLEAN NOT NULL
);
CREATE INDEX rm_team_members_deployment_idx ON rm_team_members (deployment_id);

CREATE TABLE rm_labels (
    id            TEXT PRIMARY KEY,
    school_uai    TEXT NOT NULL,
    department    TEXT NOT NULL,
    school_year   TEXT NOT NULL,
    target_level  TEXT NOT NULL,
    status        TEXT NOT NULL,
    awarded_level TEXT
);
CREATE INDEX rm_labels_year_idx ON rm_labels (school_year, department);

CREATE TABLE rm_partners (
    id         TEXT PRIMARY KEY,
    name       TEXT NOT NULL,
    kind       TEXT NOT NULL,
    scope      TEXT NOT NULL,
    department TEXT,
    commune    TEXT,
    archived   BOOLEAN NOT NULL,
    search     TEXT NOT NULL
);
