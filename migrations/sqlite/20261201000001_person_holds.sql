-- Why each person's data is held: one row per record that needs it (an account, a
-- session registration, a pHARe team, a partner's contacts), with its retention deadline
-- (NULL: while the record needs it). The purge erases a person once every hold has a
-- deadline and the latest has passed, so a registrant who also has an account keeps
-- their data while the account is active.
CREATE TABLE person_holds (
    person_id    BLOB NOT NULL,
    subject      TEXT NOT NULL,
    purpose      TEXT NOT NULL,
    retain_until TEXT,
    PRIMARY KEY (person_id, subject)
);

-- Before holds, a person had one purpose; every existing person keeps it, as the
-- account's hold (deactivated accounts keep their deadline).
INSERT INTO person_holds (person_id, subject, purpose, retain_until)
SELECT person_id, 'account', purpose, retain_until FROM person_keys;

DROP INDEX person_keys_retain_until_idx;
ALTER TABLE person_keys DROP COLUMN purpose;
ALTER TABLE person_keys DROP COLUMN retain_until;
