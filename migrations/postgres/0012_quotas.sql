-- A project's daily quota: at most daily_quota events per UTC day; NULL: none.
ALTER TABLE projects ADD COLUMN daily_quota BIGINT;

-- Rate-limit counters shared by every Faultline process on this database: each process adds what it
-- admitted since its last sync and reads the total back. `scope` names the limit ("key:12", "day:3",
-- "minute:3"); a row lives until its window ends (`window_end`, epoch ms) and is then deleted.
CREATE TABLE rate_counters (
    scope TEXT NOT NULL,
    window_start BIGINT NOT NULL,
    window_end BIGINT NOT NULL,
    count BIGINT NOT NULL,
    PRIMARY KEY (scope, window_start)
);

CREATE INDEX rate_counters_by_end ON rate_counters (window_end);
