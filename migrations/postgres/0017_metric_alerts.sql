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
ALTER TABLE alert_fires ALTER COLUMN issue_id DROP NOT NULL;
ALTER TABLE alert_fires ALTER COLUMN event_id DROP NOT NULL;
ALTER TABLE alert_fires ADD COLUMN metric TEXT;
ALTER TABLE alert_fires ADD COLUMN transaction_name TEXT;
ALTER TABLE alert_fires ADD COLUMN metric_value DOUBLE PRECISION;
ALTER TABLE alert_fires ADD COLUMN metric_threshold DOUBLE PRECISION;
ALTER TABLE alert_fires ADD COLUMN metric_count BIGINT;
ALTER TABLE alert_fires ADD COLUMN window_minutes BIGINT;
ALTER TABLE alert_fires ADD CONSTRAINT alert_fires_subject CHECK ((issue_id IS NULL) <> (metric IS NULL));
