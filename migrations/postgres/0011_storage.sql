-- Storage: events partitioned by day of their timestamp, so that retention drops a whole day instead of
-- deleting its rows one by one; the ids of accepted events in their own table, whose primary key keeps
-- deduplication exact across partitions (and after the storage budget evicts an event); and each
-- project's stored events and payload bytes, which the storage budget reads instead of scanning events.
-- Partitions are named events_pYYYYMMDD; the server creates the coming days' ones (and `faultline seed`
-- those of its range); anything outside them lands in events_default, which retention empties row by row.

CREATE TABLE event_ids (
    project_id BIGINT NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
    event_id TEXT NOT NULL,
    timestamp BIGINT NOT NULL,
    PRIMARY KEY (project_id, event_id)
);
CREATE INDEX event_ids_timestamp ON event_ids (project_id, timestamp);
INSERT INTO event_ids (project_id, event_id, timestamp) SELECT project_id, event_id, timestamp FROM events;

CREATE TABLE project_storage (
    project_id BIGINT PRIMARY KEY REFERENCES projects (id) ON DELETE CASCADE,
    events BIGINT NOT NULL,
    bytes BIGINT NOT NULL
);
INSERT INTO project_storage (project_id, events, bytes)
    SELECT project_id, COUNT(*), COALESCE(SUM(LENGTH(payload)), 0) FROM events GROUP BY project_id;

-- The unpartitioned table steps aside; its sequence stays, so event ids keep growing.
ALTER TABLE events RENAME TO events_unpartitioned;
ALTER SEQUENCE events_id_seq OWNED BY NONE;
ALTER TABLE events_unpartitioned DROP CONSTRAINT events_pkey;
ALTER TABLE events_unpartitioned DROP CONSTRAINT events_project_id_event_id_key;
DROP INDEX events_issue_timestamp;
DROP INDEX events_project_timestamp;

CREATE TABLE events (
    id BIGINT NOT NULL DEFAULT nextval('events_id_seq'),
    project_id BIGINT NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
    issue_id BIGINT NOT NULL REFERENCES issues (id) ON DELETE CASCADE,
    event_id TEXT NOT NULL,
    timestamp BIGINT NOT NULL,
    received BIGINT NOT NULL,
    level TEXT NOT NULL,
    release TEXT,
    environment TEXT,
    user_key TEXT,
    transaction_name TEXT,
    platform TEXT NOT NULL,
    title TEXT NOT NULL,
    payload BYTEA NOT NULL,
    PRIMARY KEY (id, timestamp)
) PARTITION BY RANGE (timestamp);
ALTER SEQUENCE events_id_seq OWNED BY events.id;
CREATE INDEX events_issue_timestamp ON events (issue_id, timestamp, id);
CREATE INDEX events_project_timestamp ON events (project_id, timestamp, id);
CREATE INDEX events_project_event ON events (project_id, event_id);
CREATE TABLE events_default PARTITION OF events DEFAULT;

-- The days around now (timestamps are clamped to at most 30 days before their arrival).
DO $$
DECLARE
    day_ms CONSTANT BIGINT := 86400000;
    today BIGINT := (EXTRACT(EPOCH FROM now())::BIGINT * 1000) / day_ms * day_ms;
    start BIGINT;
BEGIN
    FOR i IN -31..3 LOOP
        start := today + i * day_ms;
        EXECUTE format(
            'CREATE TABLE %I PARTITION OF events FOR VALUES FROM (%s) TO (%s)',
            'events_p' || to_char(to_timestamp(start / 1000) AT TIME ZONE 'UTC', 'YYYYMMDD'),
            start, start + day_ms);
    END LOOP;
END $$;

INSERT INTO events (id, project_id, issue_id, event_id, timestamp, received, level, release, environment,
                    user_key, transaction_name, platform, title, payload)
    SELECT id, project_id, issue_id, event_id, timestamp, received, level, release, environment,
           user_key, transaction_name, platform, title, payload
    FROM events_unpartitioned;
DROP TABLE events_unpartitioned;
