-- Accounts and the two pairing flows (upstream prisma: Account, TerminalAuthRequest, AccountAuthRequest).
-- Times are integer milliseconds since the Unix epoch; booleans are 0/1.
CREATE TABLE account (
    id TEXT PRIMARY KEY,
    public_key TEXT NOT NULL UNIQUE,          -- uppercase hex of the Ed25519 public key
    seq INTEGER NOT NULL DEFAULT 0,           -- per-account update sequence
    feed_seq INTEGER NOT NULL DEFAULT 0,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL,
    settings TEXT,
    settings_version INTEGER NOT NULL DEFAULT 0,
    github_user_id TEXT UNIQUE,
    first_name TEXT,
    last_name TEXT,
    username TEXT UNIQUE,
    avatar TEXT                               -- JSON ImageRef
);

CREATE TABLE terminal_auth_request (
    id TEXT PRIMARY KEY,
    public_key TEXT NOT NULL UNIQUE,          -- uppercase hex of the 32-byte box key
    supports_v2 INTEGER NOT NULL DEFAULT 0,
    response TEXT,
    response_account_id TEXT REFERENCES account (id) ON DELETE SET NULL,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
);

CREATE TABLE account_auth_request (
    id TEXT PRIMARY KEY,
    public_key TEXT NOT NULL UNIQUE,
    response TEXT,
    response_account_id TEXT REFERENCES account (id) ON DELETE SET NULL,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
);
