-- Artifacts (upstream prisma: Artifact); PostgreSQL twin of sql/sqlite/0004_artifacts.sql (types and collations:
-- see 0001_auth.sql). The id is a client-supplied UUID stored as given; header, body and key are opaque bytes.
CREATE TABLE artifact (
    id TEXT COLLATE "C" PRIMARY KEY,
    account_id TEXT COLLATE "C" NOT NULL REFERENCES account (id) ON DELETE RESTRICT,
    header BYTEA NOT NULL,
    header_version BIGINT NOT NULL DEFAULT 0,
    body BYTEA NOT NULL,
    body_version BIGINT NOT NULL DEFAULT 0,
    data_encryption_key BYTEA NOT NULL,
    seq BIGINT NOT NULL DEFAULT 0,               -- bumped by every update
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE INDEX artifact_account_updated ON artifact (account_id, updated_at DESC);
