-- Release health (issue 14): sessions per project, release, environment and hour (epoch ms of its start).
-- `errored` counts the aggregates' errored, crashed and abnormal sessions; individual sessions that saw
-- errors are counted by their sid in release_health_errored instead, once however many updates say so.
CREATE TABLE release_health_hours (
    project_id BIGINT NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
    release TEXT NOT NULL,
    environment TEXT NOT NULL,
    hour BIGINT NOT NULL,
    started BIGINT NOT NULL,
    errored BIGINT NOT NULL,
    crashed BIGINT NOT NULL,
    abnormal BIGINT NOT NULL,
    PRIMARY KEY (project_id, release, environment, hour)
);

CREATE TABLE release_health_errored (
    project_id BIGINT NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
    release TEXT NOT NULL,
    environment TEXT NOT NULL,
    hour BIGINT NOT NULL,
    sid TEXT NOT NULL,
    PRIMARY KEY (project_id, release, environment, hour, sid)
);

-- Distinct users (the sessions' `did`) per hour, and whether one of their sessions crashed.
CREATE TABLE release_health_users (
    project_id BIGINT NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
    release TEXT NOT NULL,
    environment TEXT NOT NULL,
    hour BIGINT NOT NULL,
    user_id TEXT NOT NULL,
    crashed BOOLEAN NOT NULL,
    PRIMARY KEY (project_id, release, environment, hour, user_id)
);

-- The retention sweep deletes by age across projects.
CREATE INDEX release_health_hours_hour ON release_health_hours (hour);
CREATE INDEX release_health_errored_hour ON release_health_errored (hour);
CREATE INDEX release_health_users_hour ON release_health_users (hour);
