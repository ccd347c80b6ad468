-- The personal-data vault: one data key per person, wrapped by the master key.
-- Deleting a person's row is the erasure (crypto-shredding): every field sealed with
-- that key, in every event, becomes unreadable while the log stays untouched.
CREATE TABLE person_keys (
    person_id   BLOB PRIMARY KEY,
    wrapped_key BLOB NOT NULL,
    created_at  TEXT NOT NULL,
    -- Why the data is held (a retention rule's name) and until when: the purge job
    -- erases the person once retain_until has passed.
    purpose      TEXT NOT NULL DEFAULT 'staff',
    retain_until TEXT
);
CREATE INDEX person_keys_retain_until_idx ON person_keys (retain_until);

-- Finds a person by e-mail without storing the address: HMAC of the normalised e-mail
-- under a key derived from the master key.
CREATE TABLE person_index (
    email_mac BLOB PRIMARY KEY,
    person_id BLOB NOT NULL
);
CREATE INDEX person_index_person_idx ON person_index (person_id);

-- Proves at start that the configured master key is the one the vault was made with.
CREATE TABLE vault_meta (
    name  TEXT PRIMARY KEY,
    value BLOB NOT NULL
);

-- Every read of nominative data through the APIs: who read whose data, when, by which
-- route and for what.
CREATE TABLE read_log (
    id         INTEGER PRIMARY KEY,
    read_at    TEXT NOT NULL,
    actor_id   TEXT,
    actor_role TEXT,
    person_id  BLOB NOT NULL,
    route      TEXT NOT NULL,
    purpose    TEXT NOT NULL
);
CREATE INDEX read_log_person_idx ON read_log (person_id, read_at);
