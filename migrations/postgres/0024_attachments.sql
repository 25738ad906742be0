-- Event attachments (issue 14): files sent beside an event (`attachment` items), stored with it and gone
-- with it. The bytes live in `blob` (BYTEA, out of line in TOAST): every Faultline process on one Postgres
-- reads and writes them without a shared volume, they are backed up with the rest, and a row and its bytes
-- commit together. `path` stays NULL here (SQLite keeps a file instead).
-- `issue_id` cascades an issue's deletion; expiry and eviction delete by event, in their own transactions.
CREATE TABLE attachments (
    id BIGSERIAL PRIMARY KEY,
    project_id BIGINT NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
    issue_id BIGINT NOT NULL REFERENCES issues (id) ON DELETE CASCADE,
    event_id TEXT NOT NULL,
    -- The event's time (as `events.timestamp`): retention expires attachments with their event by it.
    event_timestamp BIGINT NOT NULL,
    name TEXT NOT NULL,
    content_type TEXT NOT NULL,
    attachment_type TEXT NOT NULL,
    size BIGINT NOT NULL,
    sha1 TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    path TEXT,
    blob BYTEA
);
-- A re-sent envelope stores its attachments once.
CREATE UNIQUE INDEX attachments_identity ON attachments (project_id, event_id, name, sha1);
CREATE INDEX attachments_expiry ON attachments (project_id, event_timestamp);
CREATE INDEX attachments_issue ON attachments (issue_id);
-- The project's attachment quota in bytes; NULL: the server's default (`FAULTLINE_ATTACHMENT_QUOTA`).
ALTER TABLE projects ADD COLUMN attachment_quota_bytes BIGINT;
