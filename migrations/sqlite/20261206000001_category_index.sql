-- Readers of one rare category (the accounts listed, every school of a report, the
-- partners) walked the whole log to find their few rows. SQLite's index entries end with
-- the rowid, which is the position: a read of one category is a range scan in the global
-- order. It costs each append one more index entry.
CREATE INDEX events_category_idx ON events (category);
