-- The read model (`read-model` target) lives in generations of tables, `rm_<table>_<n>`,
-- created by the target itself (their definitions are in services/read-model/src/tables.rs):
-- a rebuild fills generation n + 1 from the start of the log while the API reads
-- generation n, then switches `live` in one statement. This row says which generation
-- the API reads and which one a rebuild is filling.
-- `definition`: the version of the table definitions the live generation was built
-- with; when the code's differs, the projector rebuilds into a new generation first.
CREATE TABLE rm_generations (
    projection TEXT PRIMARY KEY,
    live       BIGINT NOT NULL,
    definition BIGINT NOT NULL,
    building   BIGINT
);
