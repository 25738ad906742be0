-- Storage: the ids of accepted events, kept apart from the events so that deduplication stays exact when
-- an event is evicted by the storage budget (a re-sent id is still recognised) and, on Postgres, across the
-- time partitions of `events`; and each project's stored events and payload bytes, which the storage
-- budget reads instead of scanning the events.

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
