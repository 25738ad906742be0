-- Failed sign-ins per throttle key (the account, and the account from one address), shared by every
-- process serving the database so a guesser meets the same waits behind a load balancer (issue 16).
CREATE TABLE sign_in_failures (
    throttle_key TEXT PRIMARY KEY,
    failures BIGINT NOT NULL,
    last_at BIGINT NOT NULL
);
CREATE INDEX sign_in_failures_age ON sign_in_failures (last_at);
