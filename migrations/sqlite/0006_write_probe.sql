-- One row the server rewrites to learn whether the database accepts writes again after they failed (a full
-- disk, a lost connection): reads alone succeed on a full disk, so only a committed write proves recovery.

CREATE TABLE write_probe (
    id INTEGER PRIMARY KEY,
    written_at BIGINT NOT NULL
);
