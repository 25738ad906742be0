-- Retention: a project may keep events for its own number of days (NULL: the server's default), and
-- periodic jobs run under a lease so that one process at a time does each, even when several share a
-- database.

ALTER TABLE projects ADD COLUMN retention_days INTEGER;

CREATE TABLE job_leases (
    name TEXT PRIMARY KEY,
    holder TEXT NOT NULL,
    until BIGINT NOT NULL
);
