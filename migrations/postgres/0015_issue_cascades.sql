-- Deleting an issue (retention) cascades to these tables; without an index on their issue_id every
-- deleted issue would scan them whole.
CREATE INDEX alert_fires_issue ON alert_fires (issue_id);
CREATE INDEX alert_cooldowns_issue ON alert_cooldowns (issue_id);
