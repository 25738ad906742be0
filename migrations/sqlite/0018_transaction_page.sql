-- Web vitals (issue 13): how many page loads of a transaction name measured each vital, per minute and
-- bucket of the durations' fixed log-scale histogram (domain::performance::histogram), so that a p75 is
-- read like a duration's percentile. `measurement` is the SDK's key (lcp, fcp, cls, ttfb, inp, fid). The
-- timed vitals are in milliseconds; CLS is a unitless score (mostly 0 to 1), counted in thousandths
-- (0.1 is 100) so that it spreads over the same buckets (domain::performance::vitals). Rows go with
-- their transaction name.
CREATE TABLE transaction_vitals (
    name_id BIGINT NOT NULL REFERENCES transaction_names (id) ON DELETE CASCADE,
    minute BIGINT NOT NULL,
    measurement TEXT NOT NULL,
    bucket INTEGER NOT NULL,
    count BIGINT NOT NULL,
    PRIMARY KEY (name_id, minute, measurement, bucket)
);

-- The transaction page lists a name's slowest kept bodies in a period, narrowed to an environment and a
-- release like its figures. Bodies kept before this migration have neither (empty).
ALTER TABLE transaction_bodies ADD COLUMN environment TEXT NOT NULL DEFAULT '';
ALTER TABLE transaction_bodies ADD COLUMN release TEXT NOT NULL DEFAULT '';
CREATE INDEX transaction_bodies_name_time ON transaction_bodies (project_id, name, timestamp);
