-- Registration control and account administration: the PostgreSQL twin of sql/sqlite/0016_account_admin.sql.
CREATE TABLE registration_request (
    public_key TEXT COLLATE "C" PRIMARY KEY,  -- uppercase hex of the Ed25519 public key, as account.public_key
    attempts BIGINT NOT NULL DEFAULT 1,       -- logins refused while pending
    approved_at BIGINT,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);

-- Disabled and deleted accounts: their tokens are refused (REST 403, socket connect error) and their sockets closed.
-- No foreign key: a deleted account's row stays (deleted = 1), so that the tokens it was given stay refused.
CREATE TABLE account_disabled (
    account_id TEXT COLLATE "C" PRIMARY KEY,
    deleted BIGINT NOT NULL DEFAULT 0,
    disabled_at BIGINT NOT NULL
);
