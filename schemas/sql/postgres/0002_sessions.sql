-- Sessions and their messages (upstream prisma: Session, SessionMessage); PostgreSQL twin of
-- sql/sqlite/0002_sessions.sql (types and collations: see 0001_auth.sql).
CREATE TABLE session (
    id TEXT COLLATE "C" PRIMARY KEY,             -- cuid
    tag TEXT COLLATE "C" NOT NULL,               -- client idempotency key
    account_id TEXT COLLATE "C" NOT NULL REFERENCES account (id) ON DELETE RESTRICT,
    metadata TEXT NOT NULL,                      -- opaque (client ciphertext)
    metadata_version BIGINT NOT NULL DEFAULT 0,
    agent_state TEXT,
    agent_state_version BIGINT NOT NULL DEFAULT 0,
    data_encryption_key BYTEA,
    seq BIGINT NOT NULL DEFAULT 0,               -- last allocated message seq
    active BIGINT NOT NULL DEFAULT 1,
    last_active_at BIGINT NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    UNIQUE (account_id, tag)
);
CREATE INDEX session_account_updated ON session (account_id, updated_at DESC);

CREATE TABLE session_message (
    id TEXT COLLATE "C" PRIMARY KEY,             -- cuid
    session_id TEXT COLLATE "C" NOT NULL REFERENCES session (id) ON DELETE RESTRICT,
    local_id TEXT COLLATE "C",                   -- NULLs never collide in the unique index
    seq BIGINT NOT NULL,
    content JSONB NOT NULL,                      -- {"t":"encrypted","c":…} for client messages (upstream: Json)
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    UNIQUE (session_id, local_id)
);
CREATE INDEX session_message_session_seq ON session_message (session_id, seq);
