-- Per-account feed (upstream prisma: UserFeedItem); PostgreSQL twin of sql/sqlite/0011_feed.sql (types and
-- collations: see 0001_auth.sql). `counter` is the account's feed sequence at posting time; `body` is the FeedBody
-- JSON ({kind, uid} or {kind, text}). Several NULL repeat keys may coexist in the unique constraint.
CREATE TABLE user_feed_item (
    id TEXT COLLATE "C" PRIMARY KEY,
    user_id TEXT COLLATE "C" NOT NULL REFERENCES account (id) ON DELETE CASCADE,
    counter BIGINT NOT NULL,
    repeat_key TEXT COLLATE "C",
    body JSONB NOT NULL,                         -- upstream: Json
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    UNIQUE (user_id, counter),
    UNIQUE (user_id, repeat_key)
);
