-- User feedback (issue 14): what users wrote about an error, from `user_report` and `feedback` items and the
-- user-feedback API. Linked to its event by event id (the event may arrive after it); the issue is found
-- through the event.
CREATE TABLE user_feedback (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    project_id BIGINT NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
    event_id TEXT,
    name TEXT NOT NULL,
    email TEXT NOT NULL,
    comments TEXT NOT NULL,
    url TEXT NOT NULL,
    received_at BIGINT NOT NULL
);
CREATE INDEX user_feedback_project ON user_feedback (project_id, received_at);
CREATE INDEX user_feedback_event ON user_feedback (project_id, event_id);
