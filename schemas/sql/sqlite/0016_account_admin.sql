-- Registration control and account administration (not in upstream: auth.registration, the admin console and
-- `happy-server accounts …`). Tables of their own, so that the upstream tables keep upstream's shape.

-- A public key that tried to create an account while auth.registration.mode was "approval": pending until an
-- administrator approves it (approved_at set); the key's next login then creates the account and the row goes.
CREATE TABLE registration_request (
    public_key TEXT PRIMARY KEY,              -- uppercase hex of the Ed25519 public key, as account.public_key
    attempts BIGINT NOT NULL DEFAULT 1,      -- logins refused while pending
    approved_at BIGINT,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);

-- Disabled and deleted accounts: their tokens are refused (REST 403, socket connect error) and their sockets closed.
-- No foreign key: a deleted account's row stays (deleted = 1), so that the tokens it was given stay refused.
CREATE TABLE account_disabled (
    account_id TEXT PRIMARY KEY,
    deleted BIGINT NOT NULL DEFAULT 0,
    disabled_at BIGINT NOT NULL
);
