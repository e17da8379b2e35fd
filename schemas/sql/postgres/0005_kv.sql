-- Per-account key-value store (upstream prisma: UserKVStore); PostgreSQL twin of sql/sqlite/0005_kv.sql (types and
-- collations: see 0001_auth.sql). A NULL value means "deleted": the row stays so that its version keeps counting.
-- Keys are compared bytewise (COLLATE "C"), which also lets `key LIKE 'prefix%'` use the primary key index.
CREATE TABLE user_kv (
    account_id TEXT COLLATE "C" NOT NULL REFERENCES account (id) ON DELETE CASCADE,
    key TEXT COLLATE "C" NOT NULL,
    value BYTEA,
    version BIGINT NOT NULL DEFAULT 0,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    PRIMARY KEY (account_id, key)
);
