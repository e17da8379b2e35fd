-- GitHub links and vendor API tokens (upstream prisma: GithubUser, ServiceAccountToken); PostgreSQL twin of
-- sql/sqlite/0012_connect.sql (types and collations: see 0001_auth.sql). Tokens are stored encrypted (privacy-kit
-- KeyTree layout, see core/crypto/key_tree.hpp). account.github_user_id points here without a foreign key, as on
-- SQLite: the disconnect code clears it itself.
CREATE TABLE github_user (
    id TEXT COLLATE "C" PRIMARY KEY,             -- GitHub numeric user id, as a string
    profile JSONB NOT NULL,                      -- the GitHub user object (upstream: Json)
    token BYTEA,                                 -- encrypted access token, path ["user", <account>, "github", "token"]
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);

CREATE TABLE service_account_token (
    id TEXT COLLATE "C" PRIMARY KEY,             -- cuid
    account_id TEXT COLLATE "C" NOT NULL REFERENCES account (id) ON DELETE CASCADE,
    vendor TEXT COLLATE "C" NOT NULL,            -- openai | anthropic | gemini
    token BYTEA NOT NULL,                        -- encrypted, path ["user", <account>, "vendors", <vendor>, "token"]
    metadata TEXT,                               -- never written by the server (opaque, as on SQLite)
    last_used_at BIGINT,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    UNIQUE (account_id, vendor)
);
