-- GitHub links and vendor API tokens (upstream prisma: GithubUser, ServiceAccountToken).
-- Tokens are stored encrypted (privacy-kit KeyTree layout, see core/crypto/key_tree.hpp), never in plaintext.
-- Times are integer milliseconds since the Unix epoch; integers are BIGINT (see 0002_sessions.sql).
-- account.github_user_id (0001_auth.sql) points here; upstream's FK is ON DELETE SET NULL, which the disconnect
-- code does itself (SQLite cannot add a foreign key to an existing column).
CREATE TABLE github_user (
    id TEXT PRIMARY KEY,                      -- GitHub numeric user id, as a string
    profile TEXT NOT NULL,                    -- the GitHub user object (JSON)
    token BLOB,                               -- encrypted access token, path ["user", <account>, "github", "token"]
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);

CREATE TABLE service_account_token (
    id TEXT PRIMARY KEY,                      -- cuid
    account_id TEXT NOT NULL REFERENCES account (id) ON DELETE CASCADE,
    vendor TEXT NOT NULL,                     -- openai | anthropic | gemini
    token BLOB NOT NULL,                      -- encrypted, path ["user", <account>, "vendors", <vendor>, "token"]
    metadata TEXT,
    last_used_at BIGINT,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    UNIQUE (account_id, vendor)
);
