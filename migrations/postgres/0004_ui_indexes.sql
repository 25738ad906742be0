-- Per-project rollups the web UI reads on every page, kept by the writer beside the per-issue counters.
-- Without them the issue list's environment menu and the overview's sparkline visit every issue of the
-- project (10,000 index probes or a scan of every tag row with 10,000 issues).

CREATE TABLE project_environments (
    project_id BIGINT NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    first_seen BIGINT NOT NULL,
    PRIMARY KEY (project_id, name)
);

INSERT INTO project_environments (project_id, name, first_seen)
SELECT i.project_id, t.value, MIN(t.first_seen) FROM issue_tags t JOIN issues i ON i.id = t.issue_id
WHERE t.key = 'environment' GROUP BY i.project_id, t.value;

-- Events received per hour per project, whatever became of their issues later.
CREATE TABLE project_hours (
    project_id BIGINT NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
    hour BIGINT NOT NULL,
    times_seen BIGINT NOT NULL,
    PRIMARY KEY (project_id, hour)
);

INSERT INTO project_hours (project_id, hour, times_seen)
SELECT i.project_id, h.hour, SUM(h.times_seen) FROM issue_hours h JOIN issues i ON i.id = h.issue_id
GROUP BY i.project_id, h.hour;

-- The issue page shows each tag's most frequent values. A busy issue has a tag row per user (and per email),
-- thousands of rows; in this order the top values are the first few entries of each key.
CREATE INDEX issue_tags_top_values ON issue_tags (issue_id, key, times_seen DESC, value);
