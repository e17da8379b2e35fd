-- Sessions and their messages (upstream prisma: Session, SessionMessage).
-- Times are integer milliseconds since the Unix epoch; booleans are 0/1.
-- Integer columns are declared BIGINT (same INTEGER affinity in SQLite) because SOCI's dynamic row API maps a
-- declared "INTEGER" to a 32-bit int and would truncate millisecond times; "BIGINT" maps to long long.
CREATE TABLE session (
    id TEXT PRIMARY KEY,                      -- cuid
    tag TEXT NOT NULL,                        -- client idempotency key
    account_id TEXT NOT NULL REFERENCES account (id) ON DELETE RESTRICT,
    metadata TEXT NOT NULL,                   -- opaque (client ciphertext)
    metadata_version BIGINT NOT NULL DEFAULT 0,
    agent_state TEXT,
    agent_state_version BIGINT NOT NULL DEFAULT 0,
    data_encryption_key BLOB,
    seq BIGINT NOT NULL DEFAULT 0,           -- last allocated message seq
    active BIGINT NOT NULL DEFAULT 1,
    last_active_at BIGINT NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    UNIQUE (account_id, tag)
);
CREATE INDEX session_account_updated ON session (account_id, updated_at DESC);

CREATE TABLE session_message (
    id TEXT PRIMARY KEY,                      -- cuid
    session_id TEXT NOT NULL REFERENCES session (id) ON DELETE RESTRICT,
    local_id TEXT,                            -- NULLs never collide in the unique index
    seq BIGINT NOT NULL,
    content TEXT NOT NULL,                    -- JSON, {"t":"encrypted","c":…} for client messages
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    UNIQUE (session_id, local_id)
);
CREATE INDEX session_message_session_seq ON session_message (session_id, seq);
