-- The planner needs no statistics on event payloads (compressed bytes, never filtered on). Their samples
-- made every ANALYZE of the events (the writer refreshes statistics as the table grows) rewrite megabytes
-- of pg_statistic, whose old versions piled up where autovacuum is off.
ALTER TABLE events ALTER COLUMN payload SET STATISTICS 0;
