-- Per-account key-value store (upstream prisma: UserKVStore). A NULL value means "deleted": the row stays so that
-- its version keeps counting. Keys are plaintext and compared bytewise (BINARY collation).
-- Times are integer milliseconds since the Unix epoch; integers are BIGINT (see 0002_sessions.sql).
CREATE TABLE user_kv (
    account_id TEXT NOT NULL REFERENCES account (id) ON DELETE CASCADE,
    key TEXT NOT NULL,
    value BLOB,
    version BIGINT NOT NULL DEFAULT 0,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    PRIMARY KEY (account_id, key)
);
