-- Machines (upstream prisma: Machine). The id is client-supplied and globally unique (not per account), so a
-- second account reusing an id hits the primary key. Times are integer milliseconds; booleans are 0/1.
CREATE TABLE machine (
    id TEXT PRIMARY KEY,
    account_id TEXT NOT NULL REFERENCES account (id) ON DELETE RESTRICT,
    metadata TEXT NOT NULL,                   -- opaque client string, returned verbatim
    metadata_version INTEGER NOT NULL DEFAULT 0,
    daemon_state TEXT,
    daemon_state_version INTEGER NOT NULL DEFAULT 0,
    data_encryption_key BLOB,                 -- raw bytes; NULL when none was given
    seq INTEGER NOT NULL DEFAULT 0,
    active INTEGER NOT NULL DEFAULT 1,
    last_active_at INTEGER NOT NULL,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL,
    UNIQUE (account_id, id)                   -- target of the access key composite foreign key
);

CREATE INDEX machine_account_id ON machine (account_id);
