-- Releases done right (issue 14): the repositories an organization's releases name, the commits set on each
-- release (sentry-cli `releases set-commits`), and the first and last event of each release in each project.

-- A repository becomes known when commits naming it are set on a release, or through POST …/repos/.
CREATE TABLE repositories (
    id BIGSERIAL PRIMARY KEY,
    organization_id BIGINT NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    url TEXT,
    provider TEXT,
    created_at BIGINT NOT NULL,
    UNIQUE (organization_id, name)
);

-- A release's commits in the order they were sent (sentry-cli sends the newest first); setting commits
-- replaces the whole list, as Sentry does.
CREATE TABLE release_commits (
    organization_id BIGINT NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    version TEXT NOT NULL,
    position BIGINT NOT NULL,
    repository_id BIGINT NOT NULL REFERENCES repositories (id) ON DELETE CASCADE,
    commit_id TEXT NOT NULL,
    message TEXT,
    author_name TEXT,
    author_email TEXT,
    committed_at BIGINT,
    PRIMARY KEY (organization_id, version, position)
);

-- Event times (the events' own timestamps) of the release in the project, kept by ingest.
ALTER TABLE releases ADD COLUMN first_event BIGINT;
ALTER TABLE releases ADD COLUMN last_event BIGINT;
UPDATE releases SET first_event = seen.first_event, last_event = seen.last_event
FROM (
    SELECT project_id, release, MIN(timestamp) AS first_event, MAX(timestamp) AS last_event
    FROM events WHERE release IS NOT NULL GROUP BY project_id, release
) AS seen
WHERE seen.project_id = releases.project_id AND seen.release = releases.version;
