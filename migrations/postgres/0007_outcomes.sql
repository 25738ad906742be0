-- What became of what SDKs sent, per project, client key, data category, outcome, reason and hour (epoch ms
-- of the hour's start): accepted events, items the server does not store, rate-limited and invalid ones,
-- and what SDKs report they dropped themselves (client reports). `key_id` is 0 when no key is known.

CREATE TABLE outcomes (
    project_id BIGINT NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
    key_id BIGINT NOT NULL,
    category TEXT NOT NULL,
    outcome TEXT NOT NULL,
    reason TEXT NOT NULL,
    hour BIGINT NOT NULL,
    quantity BIGINT NOT NULL,
    PRIMARY KEY (project_id, key_id, category, outcome, reason, hour)
);

CREATE INDEX outcomes_by_hour ON outcomes (hour, project_id);
