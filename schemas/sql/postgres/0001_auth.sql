-- Accounts and the two pairing flows (upstream prisma: Account, TerminalAuthRequest, AccountAuthRequest).
-- The PostgreSQL twin of sql/sqlite/0001_auth.sql: same tables, columns, constraints and indexes. Every integer is
-- BIGINT (times are integer milliseconds since the Unix epoch; booleans stay 0/1 so the same SQL runs on both).
-- Identifier and key columns are COLLATE "C": compared and ordered bytewise, as SQLite's BINARY collation does,
-- whatever the database's default locale.
CREATE TABLE account (
    id TEXT COLLATE "C" PRIMARY KEY,
    public_key TEXT COLLATE "C" NOT NULL UNIQUE, -- uppercase hex of the Ed25519 public key
    seq BIGINT NOT NULL DEFAULT 0,               -- per-account update sequence
    feed_seq BIGINT NOT NULL DEFAULT 0,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    settings TEXT,                               -- opaque client string
    settings_version BIGINT NOT NULL DEFAULT 0,
    github_user_id TEXT COLLATE "C" UNIQUE,
    first_name TEXT,
    last_name TEXT,
    username TEXT COLLATE "C" UNIQUE,
    avatar JSONB                                 -- ImageRef, parsed by the server (upstream: Json)
);

CREATE TABLE terminal_auth_request (
    id TEXT COLLATE "C" PRIMARY KEY,
    public_key TEXT COLLATE "C" NOT NULL UNIQUE, -- uppercase hex of the 32-byte box key
    supports_v2 BIGINT NOT NULL DEFAULT 0,
    response TEXT,
    response_account_id TEXT COLLATE "C" REFERENCES account (id) ON DELETE SET NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);

CREATE TABLE account_auth_request (
    id TEXT COLLATE "C" PRIMARY KEY,
    public_key TEXT COLLATE "C" NOT NULL UNIQUE,
    response TEXT,
    response_account_id TEXT COLLATE "C" REFERENCES account (id) ON DELETE SET NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
