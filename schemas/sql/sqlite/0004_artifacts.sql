-- Artifacts (upstream prisma: Artifact). The id is a client-supplied UUID, globally unique (not per account) and
-- stored as given (upper case stays upper case). Header, body and key are opaque client bytes.
-- Times are integer milliseconds since the Unix epoch; integers are BIGINT (see 0002_sessions.sql).
CREATE TABLE artifact (
    id TEXT PRIMARY KEY,
    account_id TEXT NOT NULL REFERENCES account (id) ON DELETE RESTRICT,
    header BLOB NOT NULL,
    header_version BIGINT NOT NULL DEFAULT 0,
    body BLOB NOT NULL,
    body_version BIGINT NOT NULL DEFAULT 0,
    data_encryption_key BLOB NOT NULL,
    seq BIGINT NOT NULL DEFAULT 0,            -- bumped by every update
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE INDEX artifact_account_updated ON artifact (account_id, updated_at DESC);
