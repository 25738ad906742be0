-- Performance monitoring's rollups (issue 13): every transaction counts here, whether or not its body is
-- kept. One row per project, environment, release, transaction name and operation…
CREATE TABLE transaction_names (
    id BIGSERIAL PRIMARY KEY,
    project_id BIGINT NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    op TEXT NOT NULL,
    environment TEXT NOT NULL,
    release TEXT NOT NULL,
    UNIQUE (project_id, name, op, environment, release)
);

-- …and per minute (epoch ms of its start): how many, how many failed (status not ok, cancelled or
-- unknown), and their summed duration in ms.
CREATE TABLE transaction_minutes (
    name_id BIGINT NOT NULL REFERENCES transaction_names (id) ON DELETE CASCADE,
    minute BIGINT NOT NULL,
    count BIGINT NOT NULL,
    failures BIGINT NOT NULL,
    duration_ms DOUBLE PRECISION NOT NULL,
    PRIMARY KEY (name_id, minute)
);

-- Their durations as a histogram with fixed log-scale buckets (domain::performance::histogram).
CREATE TABLE transaction_buckets (
    name_id BIGINT NOT NULL REFERENCES transaction_names (id) ON DELETE CASCADE,
    minute BIGINT NOT NULL,
    bucket INTEGER NOT NULL,
    count BIGINT NOT NULL,
    PRIMARY KEY (name_id, minute, bucket)
);

-- Time spent per kind of span (db, http, template, …; overlapping spans of a kind counted once).
CREATE TABLE transaction_span_ops (
    name_id BIGINT NOT NULL REFERENCES transaction_names (id) ON DELETE CASCADE,
    minute BIGINT NOT NULL,
    kind TEXT NOT NULL,
    duration_ms DOUBLE PRECISION NOT NULL,
    spans BIGINT NOT NULL,
    PRIMARY KEY (name_id, minute, kind)
);
