-- The read model (`read-model` target) lives in generations of tables, `rm_<table>_<n>`,
-- created by the target itself (their definitions are in services/read-model/src/tables.rs):
-- a rebuild fills generation n + 1 from the start of the log while the API reads
-- generation n, then switches `live` in one statement. This row says which generation
-- the API reads and which one a rebuild is filling.
CREATE TABLE rm_generations (
    projection TEXT PRIMARY KEY,
    live       BIGINT NOT NULL,
    building   BIGINT
);
