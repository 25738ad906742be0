-- Cron monitors (issue 14): a job's schedule and health, its check-ins, and its incidents. The clock's state
-- is `next_expected_at` (when the next check-in is due; missed once past it plus the margin), moved forward
-- with a compare-and-set so that two processes never mark one expected time twice.
CREATE TABLE monitors (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    project_id BIGINT NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
    guid TEXT NOT NULL UNIQUE,
    slug TEXT NOT NULL,
    name TEXT NOT NULL,
    schedule_type TEXT NOT NULL,
    schedule TEXT NOT NULL,
    schedule_unit TEXT,
    timezone TEXT NOT NULL,
    checkin_margin_min BIGINT NOT NULL,
    max_runtime_min BIGINT NOT NULL,
    failure_threshold BIGINT NOT NULL,
    recovery_threshold BIGINT NOT NULL,
    -- ok, error, missed_checkin, timeout, in_progress, or active before the first check-in.
    health TEXT NOT NULL,
    failures_in_row BIGINT NOT NULL DEFAULT 0,
    successes_in_row BIGINT NOT NULL DEFAULT 0,
    incident_open BOOLEAN NOT NULL DEFAULT FALSE,
    -- The monitor's issue (one per monitor: its failures are its events), once it failed.
    issue_id BIGINT REFERENCES issues (id) ON DELETE SET NULL,
    next_expected_at BIGINT NOT NULL,
    last_check_in_at BIGINT,
    created_at BIGINT NOT NULL,
    UNIQUE (project_id, slug)
);
CREATE INDEX monitors_due ON monitors (next_expected_at);

CREATE TABLE monitor_check_ins (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    monitor_id BIGINT NOT NULL REFERENCES monitors (id) ON DELETE CASCADE,
    check_in_id TEXT NOT NULL,
    status TEXT NOT NULL,
    environment TEXT,
    release TEXT,
    duration_ms BIGINT,
    -- The expected time a missed check-in stands for; for others, when it came.
    expected_at BIGINT,
    -- While in progress: when it times out.
    timeout_at BIGINT,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    UNIQUE (monitor_id, check_in_id)
);
CREATE INDEX monitor_check_ins_recent ON monitor_check_ins (monitor_id, created_at);
CREATE INDEX monitor_check_ins_running ON monitor_check_ins (timeout_at) WHERE status = 'in_progress';

CREATE TABLE monitor_incidents (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    monitor_id BIGINT NOT NULL REFERENCES monitors (id) ON DELETE CASCADE,
    opened_at BIGINT NOT NULL,
    resolved_at BIGINT,
    -- The status of the check-in that opened it.
    reason TEXT NOT NULL
);
CREATE INDEX monitor_incidents_monitor ON monitor_incidents (monitor_id, opened_at);

