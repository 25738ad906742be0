-- PagerDuty (issue 14): which PagerDuty channels were sent (or are sending) a trigger for which issue and no
-- resolve yet. Resolving the issue queues one resolve per row, in the resolving transaction, and deletes
-- the rows; an issue never paged sends no resolve. Rows go with their channel or issue.
-- Monitors (not built yet) would keep rows of their own, keyed by monitor; metric rules need none: their
-- recovery is a message of its own.
CREATE TABLE pagerduty_incidents (
    issue_id BIGINT NOT NULL REFERENCES issues (id) ON DELETE CASCADE,
    channel_id BIGINT NOT NULL REFERENCES channels (id) ON DELETE CASCADE,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (issue_id, channel_id)
);
CREATE INDEX pagerduty_incidents_channel ON pagerduty_incidents (channel_id);

-- A message that resolves an issue's incidents instead of announcing fires (it has no fires and no rule).
-- No foreign key: the resolve needs only the id, and is still owed when the issue is deleted meanwhile.
ALTER TABLE alert_messages ADD COLUMN resolved_issue_id BIGINT;
