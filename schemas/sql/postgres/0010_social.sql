-- Relationships between accounts (upstream prisma: UserRelationship, enum RelationshipStatus); PostgreSQL twin of
-- sql/sqlite/0010_social.sql (types and collations: see 0001_auth.sql). One row per direction: (from, to) holds
-- what `from` sees of `to`.
CREATE TABLE user_relationship (
    from_user_id TEXT COLLATE "C" NOT NULL REFERENCES account (id) ON DELETE CASCADE,
    to_user_id TEXT COLLATE "C" NOT NULL REFERENCES account (id) ON DELETE CASCADE,
    status TEXT COLLATE "C" NOT NULL DEFAULT 'pending'
        CHECK (status IN ('none', 'requested', 'pending', 'friend', 'rejected')),
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    accepted_at BIGINT,
    last_notified_at BIGINT,
    PRIMARY KEY (from_user_id, to_user_id)
);
CREATE INDEX user_relationship_to_status ON user_relationship (to_user_id, status);
CREATE INDEX user_relationship_from_status ON user_relationship (from_user_id, status);

-- GET /v1/user/search matches usernames by a case-insensitive prefix; SQLite indexes username COLLATE NOCASE.
-- Here the index is on lower(username): username is COLLATE "C", so lower() folds ASCII only (as NOCASE does) and
-- `lower(username) LIKE lower(?)` with a constant prefix can use this index.
CREATE INDEX account_username_nocase ON account (lower(username));
