-- Access keys, one per (account, machine, session) (upstream prisma: AccessKey).
-- Upstream's foreign keys RESTRICT and its session/machine deletes remove the keys explicitly first; here the
-- foreign keys CASCADE instead, so that the sessions and machines modules need not know this table.
-- Times are integer milliseconds since the Unix epoch; integers are BIGINT (see 0002_sessions.sql).
CREATE TABLE access_key (
    id TEXT PRIMARY KEY,                      -- cuid (never on the wire)
    account_id TEXT NOT NULL REFERENCES account (id) ON DELETE RESTRICT,
    machine_id TEXT NOT NULL,
    session_id TEXT NOT NULL REFERENCES session (id) ON DELETE CASCADE,
    data TEXT NOT NULL,                       -- opaque client string, returned verbatim
    data_version BIGINT NOT NULL DEFAULT 0,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    FOREIGN KEY (account_id, machine_id) REFERENCES machine (account_id, id) ON DELETE CASCADE,
    UNIQUE (account_id, machine_id, session_id)
);
CREATE INDEX access_key_session ON access_key (session_id);
CREATE INDEX access_key_machine ON access_key (machine_id);
