-- Access keys, one per (account, machine, session) (upstream prisma: AccessKey); PostgreSQL twin of
-- sql/sqlite/0006_access_keys.sql (types and collations: see 0001_auth.sql). The foreign keys CASCADE so that the
-- sessions and machines modules need not know this table.
CREATE TABLE access_key (
    id TEXT COLLATE "C" PRIMARY KEY,             -- cuid (never on the wire)
    account_id TEXT COLLATE "C" NOT NULL REFERENCES account (id) ON DELETE RESTRICT,
    machine_id TEXT COLLATE "C" NOT NULL,
    session_id TEXT COLLATE "C" NOT NULL REFERENCES session (id) ON DELETE CASCADE,
    data TEXT NOT NULL,                          -- opaque client string, returned verbatim
    data_version BIGINT NOT NULL DEFAULT 0,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    FOREIGN KEY (account_id, machine_id) REFERENCES machine (account_id, id) ON DELETE CASCADE,
    UNIQUE (account_id, machine_id, session_id)
);
CREATE INDEX access_key_session ON access_key (session_id);
CREATE INDEX access_key_machine ON access_key (machine_id);
