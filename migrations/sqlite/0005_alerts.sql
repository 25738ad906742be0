-- Alerts: channels (per organization), rules (per project) and the durable outbox between the writer and
-- the notifier. The writer records fires in the ingest transaction; the notifier turns due fires into
-- messages (one per rule, a digest when several issues wait) and one delivery per message and channel.

CREATE TABLE channels (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    organization_id BIGINT NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    kind TEXT NOT NULL,
    -- JSON, secrets included; only the store and the notifier read it whole.
    settings TEXT NOT NULL,
    builtin BOOLEAN NOT NULL DEFAULT FALSE,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE INDEX channels_organization ON channels (organization_id);

CREATE TABLE alert_rules (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    project_id BIGINT NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    enabled BOOLEAN NOT NULL,
    on_new_issue BOOLEAN NOT NULL,
    on_regression BOOLEAN NOT NULL,
    frequency_count BIGINT,
    frequency_minutes BIGINT,
    users_count BIGINT,
    users_minutes BIGINT,
    min_level TEXT,
    environment TEXT,
    tag_key TEXT,
    tag_value TEXT,
    cooldown_minutes BIGINT NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE INDEX alert_rules_project ON alert_rules (project_id);

CREATE TABLE alert_rule_channels (
    rule_id BIGINT NOT NULL REFERENCES alert_rules (id) ON DELETE CASCADE,
    channel_id BIGINT NOT NULL REFERENCES channels (id) ON DELETE CASCADE,
    PRIMARY KEY (rule_id, channel_id)
);
CREATE INDEX alert_rule_channels_channel ON alert_rule_channels (channel_id);

-- Until when a rule stays quiet for an issue after firing (its cooldown), kept by a conditional upsert so
-- concurrent writers agree on who fired.
CREATE TABLE alert_cooldowns (
    rule_id BIGINT NOT NULL REFERENCES alert_rules (id) ON DELETE CASCADE,
    issue_id BIGINT NOT NULL REFERENCES issues (id) ON DELETE CASCADE,
    quiet_until BIGINT NOT NULL,
    PRIMARY KEY (rule_id, issue_id)
);

-- Windows for frequency and user-count triggers, written only for projects whose rules use them.
CREATE TABLE alert_issue_minutes (
    issue_id BIGINT NOT NULL REFERENCES issues (id) ON DELETE CASCADE,
    minute BIGINT NOT NULL,
    times_seen BIGINT NOT NULL,
    PRIMARY KEY (issue_id, minute)
);
CREATE TABLE alert_issue_users (
    issue_id BIGINT NOT NULL REFERENCES issues (id) ON DELETE CASCADE,
    user_key TEXT NOT NULL,
    last_seen BIGINT NOT NULL,
    PRIMARY KEY (issue_id, user_key)
);

CREATE TABLE alert_messages (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    rule_id BIGINT REFERENCES alert_rules (id) ON DELETE SET NULL,
    project_id BIGINT NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
    created_at BIGINT NOT NULL
);
CREATE INDEX alert_messages_rule ON alert_messages (rule_id, created_at);

-- The outbox: one row per rule firing for an issue, written in the ingest transaction.
CREATE TABLE alert_fires (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    rule_id BIGINT NOT NULL REFERENCES alert_rules (id) ON DELETE CASCADE,
    issue_id BIGINT NOT NULL REFERENCES issues (id) ON DELETE CASCADE,
    reason TEXT NOT NULL,
    event_id TEXT NOT NULL,
    environment TEXT,
    release TEXT,
    created_at BIGINT NOT NULL,
    due_at BIGINT NOT NULL,
    message_id BIGINT REFERENCES alert_messages (id) ON DELETE CASCADE
);
CREATE INDEX alert_fires_pending ON alert_fires (due_at) WHERE message_id IS NULL;
CREATE INDEX alert_fires_message ON alert_fires (message_id);

CREATE TABLE deliveries (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    message_id BIGINT NOT NULL REFERENCES alert_messages (id) ON DELETE CASCADE,
    project_id BIGINT NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
    channel_id BIGINT REFERENCES channels (id) ON DELETE SET NULL,
    rule_name TEXT NOT NULL,
    channel_name TEXT NOT NULL,
    idempotency_key TEXT NOT NULL UNIQUE,
    -- pending, sending, sent, failed
    status TEXT NOT NULL,
    attempts BIGINT NOT NULL,
    next_attempt_at BIGINT NOT NULL,
    lease_until BIGINT,
    last_attempt_at BIGINT,
    last_error TEXT,
    sent_at BIGINT,
    created_at BIGINT NOT NULL
);
CREATE INDEX deliveries_due ON deliveries (next_attempt_at) WHERE status IN ('pending', 'sending');
CREATE INDEX deliveries_project ON deliveries (project_id, created_at);

-- Every organization gets its "email to project members" channel, every project the default rule.
INSERT INTO channels (organization_id, name, kind, settings, builtin, created_at, updated_at)
SELECT id, 'Email to project members', 'email', '{"kind":"email"}', TRUE, created_at, created_at FROM organizations;

INSERT INTO alert_rules (project_id, name, enabled, on_new_issue, on_regression, cooldown_minutes, created_at, updated_at)
SELECT id, 'New or regressed issue', TRUE, TRUE, TRUE, 30, created_at, created_at FROM projects;

INSERT INTO alert_rule_channels (rule_id, channel_id)
SELECT r.id, c.id FROM alert_rules r
JOIN projects p ON p.id = r.project_id
JOIN channels c ON c.organization_id = p.organization_id AND c.builtin;
