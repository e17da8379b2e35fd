-- Token/cost usage reports (upstream prisma: UsageReport), upserted per (account, session, key) by the socket
-- event `usage-report`. Times are integer milliseconds (BIGINT: see 0002_sessions.sql).
-- Upstream's session relation is ON DELETE SET NULL, but its session delete removes the session's reports
-- explicitly first (sessionDelete.ts); CASCADE gives the same end state from the sessions module's plain DELETE.
CREATE TABLE usage_report (
    id TEXT PRIMARY KEY,                      -- cuid
    key TEXT NOT NULL,
    account_id TEXT NOT NULL REFERENCES account (id) ON DELETE RESTRICT,
    session_id TEXT REFERENCES session (id) ON DELETE CASCADE,
    data TEXT NOT NULL,                       -- JSON {"tokens": {…}, "cost": {…}} as reported
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    UNIQUE (account_id, session_id, key)
);
CREATE INDEX usage_report_account_created ON usage_report (account_id, created_at);
CREATE INDEX usage_report_session ON usage_report (session_id);
