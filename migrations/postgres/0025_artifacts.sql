-- JavaScript source maps (issue 15): chunks sent by sentry-cli wait in `artifact_chunks` until a bundle is
-- assembled from them (or a few hours pass); an assembled bundle is a row in `artifact_bundles` per project
-- it was uploaded for, and each of its files a row in `artifact_files` with its bytes zstd-compressed in
-- `blob`. The bytes stay in the database on both engines: uploads are rare (a deploy), the files are small
-- next to events, and a bundle and its files then commit together and count in the storage budget as pages.
CREATE TABLE artifact_chunks (
    organization_id BIGINT NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    -- SHA-1 of the chunk's (decompressed) bytes, lowercase hex: the name sentry-cli sends it under.
    checksum TEXT NOT NULL,
    size BIGINT NOT NULL,
    created_at BIGINT NOT NULL,
    bytes BYTEA NOT NULL,
    PRIMARY KEY (organization_id, checksum)
);
CREATE INDEX artifact_chunks_age ON artifact_chunks (created_at);

CREATE TABLE artifact_bundles (
    id BIGSERIAL PRIMARY KEY,
    project_id BIGINT NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
    -- SHA-1 of the bundle as uploaded (a legacy release file: of its release, dist and name).
    checksum TEXT NOT NULL,
    -- '' when the bundle names no release (or dist), so that equality finds them.
    release TEXT NOT NULL,
    dist TEXT NOT NULL,
    files BIGINT NOT NULL,
    -- Bytes of its files as stored (compressed).
    size BIGINT NOT NULL,
    -- The latest upload of the same bundle: expiry counts from it.
    uploaded_at BIGINT NOT NULL
);
-- Re-uploading a bundle stores nothing new.
CREATE UNIQUE INDEX artifact_bundles_identity ON artifact_bundles (project_id, checksum);
CREATE INDEX artifact_bundles_age ON artifact_bundles (project_id, uploaded_at);

CREATE TABLE artifact_files (
    id BIGSERIAL PRIMARY KEY,
    bundle_id BIGINT NOT NULL REFERENCES artifact_bundles (id) ON DELETE CASCADE,
    -- Copied from the bundle so that both look-ups are one index each.
    project_id BIGINT NOT NULL,
    release TEXT NOT NULL,
    dist TEXT NOT NULL,
    url TEXT NOT NULL,
    -- `minified_source`, `source_map`, `source`, … as the manifest says.
    file_type TEXT NOT NULL,
    -- Lowercase UUID with dashes.
    debug_id TEXT,
    -- The `Sourcemap` (or `X-SourceMap`) header the manifest gives the file.
    sourcemap TEXT,
    size BIGINT NOT NULL,
    sha1 TEXT NOT NULL,
    blob BYTEA NOT NULL
);
CREATE INDEX artifact_files_debug_id ON artifact_files (project_id, debug_id) WHERE debug_id IS NOT NULL;
CREATE INDEX artifact_files_url ON artifact_files (project_id, release, dist, url);
CREATE INDEX artifact_files_bundle ON artifact_files (bundle_id);
