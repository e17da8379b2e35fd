-- Expo push tokens registered by the apps (upstream prisma: AccountPushToken), unique per (account, token);
-- PostgreSQL twin of sql/sqlite/0009_push.sql (types and collations: see 0001_auth.sql).
CREATE TABLE account_push_token (
    id TEXT COLLATE "C" PRIMARY KEY,             -- cuid
    account_id TEXT COLLATE "C" NOT NULL REFERENCES account (id) ON DELETE RESTRICT,
    token TEXT COLLATE "C" NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    UNIQUE (account_id, token)
);
