-- Machines (upstream prisma: Machine); PostgreSQL twin of sql/sqlite/0003_machines.sql (types and collations: see
-- 0001_auth.sql). The id is client-supplied and globally unique (not per account).
CREATE TABLE machine (
    id TEXT COLLATE "C" PRIMARY KEY,
    account_id TEXT COLLATE "C" NOT NULL REFERENCES account (id) ON DELETE RESTRICT,
    metadata TEXT NOT NULL,                      -- opaque client string, returned verbatim
    metadata_version BIGINT NOT NULL DEFAULT 0,
    daemon_state TEXT,
    daemon_state_version BIGINT NOT NULL DEFAULT 0,
    data_encryption_key BYTEA,                   -- raw bytes; NULL when none was given
    seq BIGINT NOT NULL DEFAULT 0,
    active BIGINT NOT NULL DEFAULT 1,
    last_active_at BIGINT NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    UNIQUE (account_id, id)                      -- target of the access key composite foreign key
);

CREATE INDEX machine_account_id ON machine (account_id);
