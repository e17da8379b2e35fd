-- Relationships between accounts (upstream prisma: UserRelationship, enum RelationshipStatus). One row per
-- direction: (from, to) holds what `from` sees of `to`. A missing row reads as 'none'; rows set back to 'none' stay.
-- Times are integer milliseconds since the Unix epoch; integers are BIGINT (see 0002_sessions.sql).
CREATE TABLE user_relationship (
    from_user_id TEXT NOT NULL REFERENCES account (id) ON DELETE CASCADE,
    to_user_id TEXT NOT NULL REFERENCES account (id) ON DELETE CASCADE,
    status TEXT NOT NULL DEFAULT 'pending'
        CHECK (status IN ('none', 'requested', 'pending', 'friend', 'rejected')),
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    accepted_at BIGINT,
    last_notified_at BIGINT,
    PRIMARY KEY (from_user_id, to_user_id)
);
CREATE INDEX user_relationship_to_status ON user_relationship (to_user_id, status);
CREATE INDEX user_relationship_from_status ON user_relationship (from_user_id, status);

-- GET /v1/user/search matches usernames by a case-insensitive prefix (SQLite LIKE, ASCII case folding).
CREATE INDEX account_username_nocase ON account (username COLLATE NOCASE);
