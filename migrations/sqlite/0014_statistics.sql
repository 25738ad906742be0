-- Postgres stops sampling event payloads for statistics here; SQLite's ANALYZE keeps no column samples.
SELECT 1;
