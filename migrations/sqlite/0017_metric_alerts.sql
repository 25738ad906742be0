-- Metric alerts (issue 13): rules over the transaction rollups, such as "p95 of /checkout/ above 800 ms over
-- 10 minutes" or "failure rate of /checkout/ above 5 %". A metric rule is an alert_rules row of kind 'metric'
-- (its name, enabled flag, cooldown and channels are kept as every rule's are), with its condition and its
-- evaluation state in metric_rules.
ALTER TABLE alert_rules ADD COLUMN kind TEXT NOT NULL DEFAULT 'issue';

CREATE TABLE metric_rules (
    rule_id BIGINT PRIMARY KEY REFERENCES alert_rules (id) ON DELETE CASCADE,
    transaction_name TEXT NOT NULL,
    environment TEXT,
    -- 'p95' (duration in ms) or 'failure_rate' (in %)
    metric TEXT NOT NULL,
    threshold DOUBLE PRECISION NOT NULL,
    window_minutes BIGINT NOT NULL,
    min_count BIGINT NOT NULL,
    -- Whether the rule announced a crossing that has not resolved yet. Changed only by a conditional update
    -- (`WHERE firing = <what the evaluator read>`), so two evaluators never both announce one crossing, and
    -- kept in the database, so a restart neither announces it again nor misses the next one.
    firing BOOLEAN NOT NULL DEFAULT FALSE,
    last_fired_at BIGINT,
    -- What the last evaluation found (shown on the rules page).
    last_value DOUBLE PRECISION,
    last_count BIGINT,
    evaluated_at BIGINT
);

-- Metric crossings go into the same outbox table as issue fires, so the notifier's dispatch (due fires →
-- one message per rule, digests included → one delivery per channel, retried) stays one path for both
-- kinds of rule. A fire is about an issue (issue_id set) or about a metric (metric set), never both.
-- SQLite cannot drop a NOT NULL constraint, so the table is rebuilt with its rows and indexes; no other
-- table references it.
CREATE TABLE alert_fires_0017 (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    rule_id BIGINT NOT NULL REFERENCES alert_rules (id) ON DELETE CASCADE,
    issue_id BIGINT REFERENCES issues (id) ON DELETE CASCADE,
    reason TEXT NOT NULL,
    event_id TEXT,
    environment TEXT,
    release TEXT,
    created_at BIGINT NOT NULL,
    due_at BIGINT NOT NULL,
    message_id BIGINT REFERENCES alert_messages (id) ON DELETE CASCADE,
    metric TEXT,
    transaction_name TEXT,
    metric_value DOUBLE PRECISION,
    metric_threshold DOUBLE PRECISION,
    metric_count BIGINT,
    window_minutes BIGINT,
    CONSTRAINT alert_fires_subject CHECK ((issue_id IS NULL) <> (metric IS NULL))
);
INSERT INTO alert_fires_0017 (id, rule_id, issue_id, reason, event_id, environment, release, created_at, due_at, message_id)
SELECT id, rule_id, issue_id, reason, event_id, environment, release, created_at, due_at, message_id FROM alert_fires;
DROP TABLE alert_fires;
ALTER TABLE alert_fires_0017 RENAME TO alert_fires;
CREATE INDEX alert_fires_pending ON alert_fires (due_at) WHERE message_id IS NULL;
CREATE INDEX alert_fires_message ON alert_fires (message_id);
CREATE INDEX alert_fires_issue ON alert_fires (issue_id);
