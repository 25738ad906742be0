-- Organizations, projects and their client keys; issues, events and the counters kept at ingest time.
-- Instants are BIGINT epoch milliseconds bound from Rust; payloads are zstd-compressed JSON.

CREATE TABLE organizations (
    id BIGSERIAL PRIMARY KEY,
    slug TEXT NOT NULL UNIQUE,
    name TEXT NOT NULL,
    created_at BIGINT NOT NULL
);

CREATE TABLE projects (
    id BIGSERIAL PRIMARY KEY,
    organization_id BIGINT NOT NULL REFERENCES organizations (id),
    slug TEXT NOT NULL,
    name TEXT NOT NULL,
    platform TEXT,
    enabled BOOLEAN NOT NULL DEFAULT TRUE,
    next_short_id BIGINT NOT NULL DEFAULT 1,
    scrub_keys TEXT NOT NULL DEFAULT '[]',
    created_at BIGINT NOT NULL,
    UNIQUE (organization_id, slug)
);

CREATE TABLE project_keys (
    id BIGSERIAL PRIMARY KEY,
    project_id BIGINT NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
    public_key TEXT NOT NULL UNIQUE,
    label TEXT NOT NULL,
    enabled BOOLEAN NOT NULL DEFAULT TRUE,
    created_at BIGINT NOT NULL
);

CREATE TABLE releases (
    project_id BIGINT NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
    version TEXT NOT NULL,
    first_seen BIGINT NOT NULL,
    PRIMARY KEY (project_id, version)
);

CREATE TABLE issues (
    id BIGSERIAL PRIMARY KEY,
    project_id BIGINT NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
    short_id BIGINT NOT NULL,
    fingerprint TEXT NOT NULL,
    grouping_version TEXT NOT NULL,
    grouping_components TEXT NOT NULL,
    title TEXT NOT NULL,
    culprit TEXT NOT NULL,
    issue_type TEXT NOT NULL,
    level TEXT NOT NULL,
    metadata TEXT NOT NULL,
    status TEXT NOT NULL,
    substatus TEXT NOT NULL,
    resolution TEXT,
    resolution_release TEXT,
    resolved_at BIGINT,
    ignore_kind TEXT,
    ignore_until BIGINT,
    ignore_until_count BIGINT,
    first_seen BIGINT NOT NULL,
    last_seen BIGINT NOT NULL,
    times_seen BIGINT NOT NULL,
    user_count BIGINT NOT NULL,
    first_release TEXT,
    last_release TEXT,
    is_unhandled BOOLEAN NOT NULL,
    UNIQUE (project_id, fingerprint),
    UNIQUE (project_id, short_id)
);
CREATE INDEX issues_project_last_seen ON issues (project_id, last_seen);

CREATE TABLE events (
    id BIGSERIAL PRIMARY KEY,
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
    UNIQUE (project_id, event_id)
);
CREATE INDEX events_issue_timestamp ON events (issue_id, timestamp);

CREATE TABLE issue_tags (
    issue_id BIGINT NOT NULL REFERENCES issues (id) ON DELETE CASCADE,
    key TEXT NOT NULL,
    value TEXT NOT NULL,
    times_seen BIGINT NOT NULL,
    first_seen BIGINT NOT NULL,
    last_seen BIGINT NOT NULL,
    PRIMARY KEY (issue_id, key, value)
);

CREATE TABLE issue_hours (
    issue_id BIGINT NOT NULL REFERENCES issues (id) ON DELETE CASCADE,
    hour BIGINT NOT NULL,
    times_seen BIGINT NOT NULL,
    PRIMARY KEY (issue_id, hour)
);

CREATE TABLE issue_users (
    issue_id BIGINT NOT NULL REFERENCES issues (id) ON DELETE CASCADE,
    user_key TEXT NOT NULL,
    PRIMARY KEY (issue_id, user_key)
);

CREATE TABLE issue_activity (
    id BIGSERIAL PRIMARY KEY,
    issue_id BIGINT NOT NULL REFERENCES issues (id) ON DELETE CASCADE,
    kind TEXT NOT NULL,
    data TEXT NOT NULL,
    created_at BIGINT NOT NULL
);
CREATE INDEX issue_activity_issue ON issue_activity (issue_id, created_at);
