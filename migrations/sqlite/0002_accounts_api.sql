-- Accounts (users, organization members, teams), API tokens, release details and deploys, and the indexes that keep
-- keyset pagination of issues and events fast.

CREATE TABLE users (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    email TEXT NOT NULL UNIQUE,
    name TEXT NOT NULL,
    password_hash TEXT NOT NULL,
    is_admin BOOLEAN NOT NULL DEFAULT FALSE,
    created_at BIGINT NOT NULL
);

CREATE TABLE members (
    organization_id BIGINT NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    user_id BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    role TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (organization_id, user_id)
);
CREATE INDEX members_user ON members (user_id);

CREATE TABLE teams (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    organization_id BIGINT NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    slug TEXT NOT NULL,
    name TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    UNIQUE (organization_id, slug)
);

CREATE TABLE project_teams (
    project_id BIGINT NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
    team_id BIGINT NOT NULL REFERENCES teams (id) ON DELETE CASCADE,
    PRIMARY KEY (project_id, team_id)
);

-- Every organization gets a team of the same slug, owning the projects that already exist.
INSERT INTO teams (organization_id, slug, name, created_at) SELECT id, slug, name, created_at FROM organizations;
INSERT INTO project_teams (project_id, team_id)
    SELECT p.id, t.id FROM projects p JOIN teams t ON t.organization_id = p.organization_id;

CREATE TABLE api_tokens (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    user_id BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    token_hash TEXT NOT NULL UNIQUE,
    token_hint TEXT NOT NULL,
    name TEXT NOT NULL,
    scopes TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    last_used_at BIGINT,
    revoked_at BIGINT
);

CREATE TABLE release_details (
    organization_id BIGINT NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    version TEXT NOT NULL,
    ref TEXT,
    url TEXT,
    date_started BIGINT,
    date_released BIGINT,
    status TEXT NOT NULL DEFAULT 'open',
    created_at BIGINT NOT NULL,
    PRIMARY KEY (organization_id, version)
);

CREATE TABLE deploys (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    organization_id BIGINT NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    version TEXT NOT NULL,
    environment TEXT NOT NULL,
    name TEXT,
    url TEXT,
    date_started BIGINT,
    date_finished BIGINT NOT NULL
);
CREATE INDEX deploys_release ON deploys (organization_id, version, date_finished);

-- Keyset pagination: each sort order walks one index, newest (largest) first.
DROP INDEX issues_project_last_seen;
CREATE INDEX issues_project_last_seen ON issues (project_id, last_seen, id);
CREATE INDEX issues_project_status_last_seen ON issues (project_id, status, last_seen, id);
CREATE INDEX issues_project_first_seen ON issues (project_id, first_seen, id);
CREATE INDEX issues_project_times_seen ON issues (project_id, times_seen, id);
CREATE INDEX issues_project_user_count ON issues (project_id, user_count, id);
DROP INDEX events_issue_timestamp;
CREATE INDEX events_issue_timestamp ON events (issue_id, timestamp, id);
CREATE INDEX events_project_timestamp ON events (project_id, timestamp, id);
CREATE INDEX releases_project_first_seen ON releases (project_id, first_seen);
