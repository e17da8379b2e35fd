-- Per-account feed (upstream prisma: UserFeedItem; Account.feedSeq is account.feed_seq of 0001_auth.sql).
-- `counter` is the account's feed sequence at posting time; `body` is the FeedBody JSON ({kind, uid} or
-- {kind, text}) with its keys in PostgreSQL JSONB order, as upstream stores it. A post with a repeat_key replaces
-- the account's earlier item with that key (several NULL keys may coexist, as in PostgreSQL).
-- Times are integer milliseconds since the Unix epoch; integers are BIGINT (see 0002_sessions.sql).
CREATE TABLE user_feed_item (
    id TEXT PRIMARY KEY,
    user_id TEXT NOT NULL REFERENCES account (id) ON DELETE CASCADE,
    counter BIGINT NOT NULL,
    repeat_key TEXT,
    body TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    UNIQUE (user_id, counter),
    UNIQUE (user_id, repeat_key)
);
