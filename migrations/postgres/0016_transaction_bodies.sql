-- Sampled transaction bodies (issue 13): the transactions kept whole, with their spans, because their trace
-- has an error, because they are among the slowest of their name and hour, or because the uniform sample
-- took them (`domain::performance::sampling`). The rollups count every transaction; these are the few
-- kept to look at. `timestamp` is the transaction's end (epoch ms), `hour` the start of its hour; the
-- payload is the scrubbed transaction JSON, zstd-compressed.
CREATE TABLE transaction_bodies (
    id BIGSERIAL PRIMARY KEY,
    project_id BIGINT NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
    event_id TEXT NOT NULL,
    trace_id TEXT NOT NULL,
    name TEXT NOT NULL,
    op TEXT NOT NULL,
    status TEXT NOT NULL,
    timestamp BIGINT NOT NULL,
    hour BIGINT NOT NULL,
    duration_ms DOUBLE PRECISION NOT NULL,
    for_error BOOLEAN NOT NULL,
    slowest BOOLEAN NOT NULL,
    sampled BOOLEAN NOT NULL,
    payload BYTEA NOT NULL,
    UNIQUE (project_id, event_id)
);
-- A trace's transactions; the current slowest of a name and hour (the writer replaces the fastest of them
-- when a slower one comes); retention per project and the storage budget's oldest-first eviction.
CREATE INDEX transaction_bodies_trace ON transaction_bodies (project_id, trace_id);
CREATE INDEX transaction_bodies_slowest ON transaction_bodies (project_id, name, hour) WHERE slowest;
CREATE INDEX transaction_bodies_project_time ON transaction_bodies (project_id, timestamp);
CREATE INDEX transaction_bodies_time ON transaction_bodies (timestamp);
-- Already compressed (zstd): TOAST need not try again, and the planner needs no statistics on it.
ALTER TABLE transaction_bodies ALTER COLUMN payload SET STORAGE EXTERNAL;
ALTER TABLE transaction_bodies ALTER COLUMN payload SET STATISTICS 0;

-- The trace an error event happened in (`contexts.trace.trace_id`), so a trace page finds its errors and
-- the transaction writer keeps the bodies of traces with an error. Declared on the partitioned table, the
-- index is made on every day's partition, present and future.
ALTER TABLE events ADD COLUMN trace_id TEXT;
CREATE INDEX events_project_trace ON events (project_id, trace_id) WHERE trace_id IS NOT NULL;

-- The bodies' count and payload bytes per project, beside the events', for the storage budget.
ALTER TABLE project_storage ADD COLUMN bodies BIGINT NOT NULL DEFAULT 0;
ALTER TABLE project_storage ADD COLUMN body_bytes BIGINT NOT NULL DEFAULT 0;
