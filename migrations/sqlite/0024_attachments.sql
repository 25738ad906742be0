-- Event attachments (issue 14): files sent beside an event (`attachment` items), stored with it and gone
-- with it. The bytes live in a file under the database's folder (`path`, relative to
-- `<folder>/attachments/`): large blobs in SQLite would hold its single write lock while they are written
-- and pass twice through its write-ahead log. `blob` stays NULL here (Postgres keeps the bytes in it).
-- `issue_id` cascades an issue's deletion; expiry and eviction delete by event, in their own transactions.
CREATE TABLE attachments (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
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
    blob BLOB
);
-- A re-sent envelope stores its attachments once.
CREATE UNIQUE INDEX attachments_identity ON attachments (project_id, event_id, name, sha1);
CREATE INDEX attachments_expiry ON attachments (project_id, event_timestamp);
CREATE INDEX attachments_issue ON attachments (issue_id);
-- The project's attachment quota in bytes; NULL: the server's default (`FAULTLINE_ATTACHMENT_QUOTA`).
ALTER TABLE projects ADD COLUMN attachment_quota_bytes BIGINT;
