-- A project's inbound filters (JSON: the toggles and the message and release patterns); NULL: none.
ALTER TABLE projects ADD COLUMN inbound_filters TEXT;
