-- Expo push tokens registered by the apps (upstream prisma: AccountPushToken), unique per (account, token).
-- Times are integer milliseconds (BIGINT: see 0002_sessions.sql).
CREATE TABLE account_push_token (
    id TEXT PRIMARY KEY,                      -- cuid
    account_id TEXT NOT NULL REFERENCES account (id) ON DELETE RESTRICT,
    token TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    UNIQUE (account_id, token)
);
