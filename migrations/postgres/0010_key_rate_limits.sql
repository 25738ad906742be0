-- A client key's rate limit (Sentry's key setting): at most rate_limit_count events per rate_limit_window
-- seconds; NULL: none.
ALTER TABLE project_keys ADD COLUMN rate_limit_count BIGINT;
ALTER TABLE project_keys ADD COLUMN rate_limit_window BIGINT;
